"""moto server on loopback, with DynamoDB requests applied one at a time.

Real DynamoDB applies each request atomically. moto's threaded server does not: a transaction
that fails restores a deep copy of the whole table taken when it started, silently undoing the
writes other requests made meanwhile (and orphaning stream iterators). Under our concurrent
consumers that would fake lost updates and double sends that AWS never produces, so DynamoDB
(and DynamoDB Streams) requests are serialised here. SQS long polls are not, so they stay cheap.
"""

from __future__ import annotations

import copy
import logging
import threading
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

_SERIALISED_TARGETS = ("DynamoDB_20120810", "DynamoDBStreams_20120810")


class _CopyOncePerTable:
    """moto 5.2's TransactWriteItems deep-copies a table once per *item* of the transaction (its
    rollback backup): 100 updates on a 1,000-item table took ~10 s. One copy per table is the
    same backup. Swapped in as the module's `copy` only while a transaction runs, which is safe
    because DynamoDB requests are serialised here."""

    def __init__(self) -> None:
        self.copies: dict[int, Any] = {}

    def deepcopy(self, obj: Any, memo: Any = None) -> Any:
        key = id(obj)
        if key not in self.copies:
            self.copies[key] = copy.deepcopy(obj, memo)
        return self.copies[key]


def _patch_transactions() -> None:
    from moto.dynamodb import models as ddb_models

    original = ddb_models.DynamoDBBackend.transact_write_items
    if getattr(original, "_copy_once", False):
        return

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        ddb_models.copy = _CopyOncePerTable()  # type: ignore[assignment]
        try:
            original(self, transact_items)
        finally:
            ddb_models.copy = copy

    transact_write_items._copy_once = True  # type: ignore[attr-defined]
    ddb_models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore


_patch_transactions()


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


class MotoServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
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
