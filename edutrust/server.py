"""Production serving through gunicorn; each worker builds its own app after the fork,
so no database connection or key handle is shared between processes."""

from __future__ import annotations

import gc
from typing import Any

from gunicorn.app.base import BaseApplication

from edutrust.settings import Settings


class _EduTrustGunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self._settings = settings
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from edutrust.app import create_app
        from edutrust.platform import open_platform

        return create_app(open_platform(self._settings))


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
    _EduTrustGunicorn(settings, gunicorn_options(host, port, workers,
                                                 settings.log_level)).run()
