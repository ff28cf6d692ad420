"""Production serving through gunicorn; each worker builds its own app after the fork,
so no database connection or key handle is shared between processes."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

from edutrust.settings import Settings


class GunicornApp(BaseApplication):  # type: ignore[misc]
    """gunicorn with ``options``, serving what ``load()`` builds in each worker after the
    fork (``edutrust serve``'s app; bench/idp_floor.py's floor app)."""

    def __init__(self, options: dict[str, Any], load: Callable[[], Any]) -> None:
        self._options = options
        self._load = load
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self._load()


def _freeze_startup_objects(worker: Any) -> None:
    """After a worker has built its app: move what start-up allocated (modules, the app,
    keys, compiled schemas) out of the garbage collector's reach, so collections during
    requests walk only what requests allocate (measured on the ledger: a full collection
    of the start-up objects cost about as much as the work of 100 transactions)."""
    gc.freeze()


def gunicorn_options(host: str, port: int, workers: int, log_level: str) -> dict[str, Any]:
    """How ``edutrust serve`` runs gunicorn (bench/idp.py serves its floor app the same
    way)."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        # Threads, not processes, for what waits (PostgreSQL and Redis round trips,
        # back-channel logout POSTs, the ledger); the token endpoint is CPU-bound, but
        # 1, 2 and 4 threads per worker measured the same on it (docs/performance.md),
        # and gthread keeps idle keep-alive connections off the threads.
        "worker_class": "gthread",
        "threads": 4,
        "accesslog": None,  # the app logs each request as JSON, with secrets redacted
        "errorlog": "-",
        "loglevel": log_level.lower(),
        "graceful_timeout": 10,
        "timeout": 60,
        "proc_name": "edutrust",
        "post_worker_init": _freeze_startup_objects,
    }


def run_gunicorn(settings: Settings, host: str, port: int, workers: int) -> None:
    def load() -> Any:
        from edutrust.app import create_app
        from edutrust.platform import open_platform

        return create_app(open_platform(settings))

    GunicornApp(gunicorn_options(host, port, workers, settings.log_level), load).run()
