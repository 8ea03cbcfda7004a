"""schemathesis against the local stack: every operation of /openapi.json, phases examples,
coverage, fuzzing and stateful (links: create campaign -> add recipients -> launch -> read),
checks from not-a-server-error to unsupported-method; 0 failures.

Two runs: a campaign manager of the demo brand on every operation its role may use, and an admin
of a brand of its own on the admin-only operations (so the keys it revokes, the numbers it
removes and the settings it changes belong to no other test). Bounded: MAX_EXAMPLES cases per
operation in fuzzing, MAX_STEPS per stateful scenario, a fixed seed; the coverage phase is what
the document defines. hooks.py adapts positive cases to the brand's own data.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.api import openapi
from local.local_stack import LocalStack
from local.seed import seed_demo

ROOT = Path(__file__).resolve().parents[2]
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "positive_data_acceptance", "negative_data_rejection",
          "unsupported_method")
MAX_EXAMPLES = 3
MAX_STEPS = 5
SEED = 16
ADMIN_BRAND = "contract-admin"
CONFIG = f"""
seed = {SEED}
[generation]
database = "none"
[phases.fuzzing.generation]
max-examples = {MAX_EXAMPLES}
[phases.coverage]
unexpected-methods = ["trace"]
[phases.stateful]
max-steps = {MAX_STEPS}
[phases.stateful.generation]
max-examples = {MAX_EXAMPLES}
"""


class FuzzFigures(UserWarning):
    """Operations, cases, failures and seconds of the run (not a problem)."""


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    # A generous API limit: the run checks the contract, not the brand's rate (429 is documented
    # and accepted by every check all the same).
    local = LocalStack(tick_seconds=2.0, extra_env={"API_RATE_DEFAULT": "1000",
                                                    "API_BURST_DEFAULT": "1000"})
    local.start()
    try:
        yield local
    finally:
        local.stop()


def _start(stack: LocalStack, tmp_path: Path, key: str, operations: list[str],
           sms_number: str) -> subprocess.Popen[str]:
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    selection = [arg for op in operations for arg in ("--include-operation-id", op)]
    command = [str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(config),
               "run", f"{stack.api_url}/openapi.json", "-H", f"Authorization: Bearer {key}",
               "--checks", ",".join(CHECKS), "--phases", "examples,coverage,fuzzing,stateful",
               "--workers", "1", "--no-color", "--continue-on-failure",
               "--output-truncate", "true", *selection]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.contract.hooks",
           "PYTHONPATH": str(ROOT), "CONTRACT_SMS_NUMBER": sms_number,
           "CONTRACT_SKILL": "support"}
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env, cwd=tmp_path)


def _result(process: subprocess.Popen[str], started: float) -> dict[str, Any]:
    try:
        output, _ = process.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    tested = re.search(r"Tested: (\d+)", output)
    cases = re.search(r"(\d+) generated", output)
    failures = re.search(r"(\d+) (?:unique )?failures?", output.split("SUMMARY")[-1])
    return {"exit": process.returncode, "output": output,
            "operations": int(tested.group(1)) if tested else 0,
            "cases": int(cases.group(1)) if cases else 0,
            "failures": int(failures.group(1)) if failures else 0,
            "seconds": round(time.monotonic() - started, 1)}


def _failures(output: str) -> str:
    start = output.find("FAILURES")
    return (output[start:start + 12000] + "\n...\n" if start >= 0 else "") + output[-4000:]


def _operation_ids(admin_only: bool) -> list[str]:
    # Not the LivePerson-compatible paths (op.lp): they take a one-hour AppJWT of one account
    # from their own token endpoint, not the API key these runs send, so every case would be a
    # 401. Their answers are checked against the document's schemas in
    # tests/service/test_lp_compatible.py instead.
    return [openapi.operation_id(method, path) for (method, path), op in
            openapi.OPERATIONS.items()
            if not op.public and not op.lp and (op.roles == ("admin",)) == admin_only]


def test_the_api_keeps_its_contract_under_fuzzing(stack: LocalStack, tmp_path: Path) -> None:
    demo = seed_demo()
    own = seed_demo(brand_id=ADMIN_BRAND, name="Contract admin", sms_number="+13125550100")
    started = time.monotonic()
    # Both at once: the requests mostly wait on moto (its own process), so two runs share the
    # time instead of adding up.
    processes = {
        "campaign_manager": _start(stack, tmp_path, demo["keys"]["campaign_manager"],
                                   _operation_ids(admin_only=False), demo["numbers"]["sms"][0]),
        "admin": _start(stack, tmp_path, own["keys"]["admin"], _operation_ids(admin_only=True),
                        own["numbers"]["sms"][0]),
    }
    runs = {role: _result(process, started) for role, process in processes.items()}
    # The figures as a warning: pytest shows warnings in its summary, also from xdist workers.
    figures = "; ".join(f"{role}: {run['operations']} operations, {run['cases']} cases, "
                        f"{run['failures']} failures" for role, run in runs.items())
    seconds = max(run["seconds"] for run in runs.values())
    warnings.warn(FuzzFigures(f"schemathesis {figures}; {seconds} s (both runs at once)"),
                  stacklevel=1)
    # The failures section first (each failure and how to reproduce it), then the summary.
    broken = {role: _failures(run["output"]) for role, run in runs.items()
              if run["exit"] != 0 or run["failures"] or not run["cases"]}
    assert not broken, "\n\n".join(f"{role}:\n{output}" for role, output in broken.items())
