"""The local stack's moto patches (infra/moto_server.py) still find what they patch.

A moto upgrade that moved one of them would otherwise show only as lost updates or missing stream
records in the slowest tests."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models.table import Table
from moto.moto_server import werkzeug_app

from infra import moto_server


def test_moto_is_the_version_the_patches_were_written_for() -> None:
    installed = importlib.metadata.version("moto")
    assert installed == moto_server.PATCHED_MOTO_VERSION, (
        f"moto {installed} is installed; infra/moto_server.py patches moto "
        f"{moto_server.PATCHED_MOTO_VERSION}: re-check each patch, then update the constant")
    pins = (Path(__file__).resolve().parents[2] / "requirements-local.txt").read_text()
    assert f"moto[server]=={moto_server.PATCHED_MOTO_VERSION}" in pins


def test_each_patch_target_exists() -> None:
    # _copy_each_table_once swaps the module's `copy` around transact_write_items.
    assert hasattr(dynamodb_models, "copy") and hasattr(dynamodb_models.copy, "deepcopy")
    assert callable(dynamodb_models.DynamoDBBackend.transact_write_items)
    # _keep_stream_objects reads and replaces each table's stream shard.
    assert "stream_shard" in Table.__init__.__code__.co_names
    # _cors_from_bucket_rules_only turns moto's allow-all CORS layer off.
    assert hasattr(werkzeug_app, "DISABLE_GLOBAL_CORS")


def test_the_patches_apply_and_serialise_dynamodb() -> None:
    server = moto_server.MotoServer()
    try:
        assert getattr(dynamodb_models.DynamoDBBackend, "_copies_each_table_once", False)
        assert werkzeug_app.DISABLE_GLOBAL_CORS is True
        assert isinstance(server.server.app, moto_server.SerialisedDynamoDB)
    finally:
        server.server.server_close()
