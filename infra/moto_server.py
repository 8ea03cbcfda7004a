"""moto server on loopback, with DynamoDB requests applied one at a time.

Real DynamoDB applies each request atomically. moto's threaded server does not: a transaction
that fails restores a deep copy of the whole table taken when it started, silently undoing the
writes other requests made meanwhile (and orphaning stream iterators). Under our concurrent
consumers that would fake lost updates and double sends that AWS never produces, so DynamoDB
(and DynamoDB Streams) requests are serialised here. SQS long polls are not, so they stay cheap.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any, cast

from moto.moto_server import werkzeug_app
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

_SERIALISED_TARGETS = ("DynamoDB_20120810", "DynamoDBStreams_20120810")
# The moto release the patches below were written against (requirements-dev.txt pins it; a fast
# test, tests/unit/test_moto_patches.py, fails on any other version or a patch that no longer
# finds its target, so an upgrade fails in seconds, not in the chaos test).
PATCHED_MOTO_VERSION = "5.2.5"


class QuietHandler(MotoRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return


class SerialisedDynamoDB:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith(_SERIALISED_TARGETS):
            with self.lock:
                # Materialise the body while holding the lock.
                return list(self.app(environ, start_response))
        return self.app(environ, start_response)


# --- one table copy per transaction (analytics) ---------------------------------------------------
# moto backs up a table before a transaction by deep-copying it once per *item* of the
# moto 5.2's TransactWriteItems deep-copies the whole table once per item of the
# transaction: a 100-item transaction on a table of N items costs 100 x N item copies, which made
# stream-aggregation transactions (markers + counters) take seconds once the metrics table held a
# few thousand markers. One copy per table and transaction is all the undo needs. Safe because
# DynamoDB requests are serialised (above), so the swapped module global is ours alone meanwhile.

class _CopyEachTableOnce:
    def __init__(self, table_type: type) -> None:
        import copy

        self._copy, self._table_type = copy, table_type
        self._copies: dict[int, Any] = {}

    def deepcopy(self, value: Any) -> Any:
        if not isinstance(value, self._table_type):
            return self._copy.deepcopy(value)
        if id(value) not in self._copies:
            self._copies[id(value)] = self._copy.deepcopy(value)
        return self._copies[id(value)]


def _keep_stream_objects(tables: dict[str, Any], shards: dict[str, Any]) -> None:
    """A failed transaction restores its tables from copies, stream included: a shard iterator
    taken before it would go on reading the old stream object, with the failed transaction's
    records in it, and skip the real records written at the same sequence numbers after. Keep
    the one stream object, holding the restored records."""
    for name, shard in shards.items():
        table = tables.get(name)
        if table is None or table.stream_shard is None or table.stream_shard is shard:
            continue
        shard.items = table.stream_shard.items
        shard.table = table
        table.stream_shard = shard


def _copy_each_table_once() -> None:
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    backend = models.DynamoDBBackend
    if getattr(backend, "_copies_each_table_once", False):
        return
    original = backend.transact_write_items

    def transact_write_items(self: Any, transact_items: Any) -> Any:
        saved = models.copy  # type: ignore[attr-defined]
        shards = {name: table.stream_shard for name, table in self.tables.items()
                  if table.stream_shard is not None}
        models.copy = _CopyEachTableOnce(Table)  # type: ignore[attr-defined]
        try:
            return original(self, transact_items)
        finally:
            models.copy = saved  # type: ignore[attr-defined]
            _keep_stream_objects(self.tables, shards)

    backend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    backend._copies_each_table_once = True  # type: ignore[attr-defined]


# --- CORS as AWS answers it -------------------------------------------------------------------
# moto's server wraps every service in a CORS layer that allows any origin, method and header, so
# a browser's PUT to a pre-signed S3 URL would work locally even if the bucket had no CORS rules
# (infra/resources/storage.yaml), and fail only on AWS. Without that layer, S3 answers preflights
# and requests with the bucket's own CORS rules, as AWS does (the backends are created lazily, so
# this must run before the first request).

def _cors_from_bucket_rules_only() -> None:
    werkzeug_app.DISABLE_GLOBAL_CORS = True
    _cors_on_form_posts()


def _cors_on_form_posts() -> None:
    """moto answers a browser's form POST to a bucket (the pre-signed upload form) without the
    CORS headers of the bucket's rules, which S3 sends: the browser would refuse the answer."""
    from moto.s3.responses import S3Response

    if getattr(S3Response, "_cors_on_form_posts", False):
        return
    original = S3Response._bucket_response_post

    def bucket_response_post(self: Any, request: Any, bucket_name: str) -> Any:
        answer = original(self, request, bucket_name)
        if isinstance(answer, tuple) and len(answer) == 3:
            status, headers, body = answer
            return status, {**self._get_cors_headers_other(), **(headers or {})}, body
        return answer

    S3Response._bucket_response_post = bucket_response_post  # type: ignore[method-assign]
    S3Response._cors_on_form_posts = True  # type: ignore[attr-defined]


class MotoServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        _copy_each_table_once()
        _cors_from_bucket_rules_only()
        app = SerialisedDynamoDB(DomainDispatcherApplication(create_backend_app))
        self.server: BaseWSGIServer = make_server(host, port, app, threaded=True,
                                                  request_handler=QuietHandler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="moto",
                                       daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> MotoServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class MotoProcess:
    """The same server in a child process (`python -m infra.moto_server`).

    moto does most of the local stack's work; in its own process it runs on its own core instead
    of competing for one interpreter lock with the API, the pumps and the consumers, whose send
    slots are timed. The child exits when this process goes away (its stdin closes)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self.process: subprocess.Popen[str] | None = None
        self._url = ""

    @property
    def url(self) -> str:
        return self._url

    def start(self, timeout: float = 60.0) -> MotoProcess:
        root = Path(__file__).resolve().parent.parent
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(root), *filter(None, [os.environ.get("PYTHONPATH")])])}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "infra.moto_server", "--host", self.host,
             "--port", str(self.port)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=root, env=env)
        ready: list[str] = []
        reader = threading.Thread(target=lambda: ready.append(
            cast(IO[str], self.process.stdout).readline() if self.process else ""), daemon=True)
        reader.start()
        reader.join(timeout)
        line = ready[0].strip() if ready else ""
        if not line.startswith("http://"):
            self.stop()
            raise RuntimeError(f"moto server did not start: {line or 'no answer'}")
        self._url = line
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        if self.process.stdout:
            self.process.stdout.close()
        self.process = None


def _exit_when_parent_goes() -> None:
    sys.stdin.read()  # EOF: the parent closed our stdin or died
    os._exit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="moto server for the local stack")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = MotoServer(args.host, args.port)
    threading.Thread(target=_exit_when_parent_goes, name="parent-watch", daemon=True).start()
    print(server.url, flush=True)
    os.dup2(2, 1)  # anything printed later goes to stderr: nobody reads the pipe any more
    server.server.serve_forever()


if __name__ == "__main__":
    main()
