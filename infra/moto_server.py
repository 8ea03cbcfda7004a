"""moto server on loopback, with DynamoDB requests applied one at a time.

Real DynamoDB applies each request atomically. moto's threaded server does not: a transaction
that fails restores a deep copy of the whole table taken when it started, silently undoing the
writes other requests made meanwhile (and orphaning stream iterators). Under our concurrent
consumers that would fake lost updates and double sends that AWS never produces, so DynamoDB
(and DynamoDB Streams) requests are serialised here. SQS long polls are not, so they stay cheap.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from moto.moto_server import werkzeug_app
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

_SERIALISED_TARGETS = ("DynamoDB_20120810", "DynamoDBStreams_20120810")


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


def _copy_each_table_once() -> None:
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    backend = models.DynamoDBBackend
    if getattr(backend, "_copies_each_table_once", False):
        return
    original = backend.transact_write_items

    def transact_write_items(self: Any, transact_items: Any) -> Any:
        saved = models.copy  # type: ignore[attr-defined]
        models.copy = _CopyEachTableOnce(Table)  # type: ignore[attr-defined]
        try:
            return original(self, transact_items)
        finally:
            models.copy = saved  # type: ignore[attr-defined]

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
