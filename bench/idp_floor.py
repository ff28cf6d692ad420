"""The floor row of ``bench idp``: gunicorn, run with the options of ``edutrust serve``
(worker class, workers, threads), serving a WSGI app that per POST only reads the body,
makes one SM2 signature of a token-sized signing input with crypto.sm2 (as the SM2
ceiling does) and answers a token-sized JSON body. No routing, no client, no claims: the
most any Python token endpoint on our server stack can serve with SM2 tokens.

Run: ``python -m bench.idp_floor PORT WORKERS`` (bench/idp.py starts it).
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from gunicorn.app.base import BaseApplication

from bench.idp import token_signing_input
from crypto.sm2 import SignatureEncoding, SM2PrivateKey
from edutrust.server import gunicorn_options

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


class FloorApp:
    """One SM2 signature per POST; any GET answers 200 (the readiness check)."""

    def __init__(self) -> None:
        self._key = SM2PrivateKey.generate()
        self._input = token_signing_input()

    def __call__(self, environ: WSGIEnvironment,
                 start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
            return [b"ok"]
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        signature = self._key.sign(self._input, encoding=SignatureEncoding.RAW)
        token = (self._input + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")).decode()
        body = json.dumps({"token_type": "Bearer", "expires_in": 900, "scope": "edu",
                           "access_token": token}).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Cache-Control", "no-store"), ("Pragma", "no-cache"),
                                  ("Content-Length", str(len(body)))])
        return [body]


class _FloorGunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> FloorApp:
        return FloorApp()  # in each worker, after the fork


def main(argv: list[str]) -> None:
    port, workers = int(argv[0]), int(argv[1])
    _FloorGunicorn(gunicorn_options("127.0.0.1", port, workers, "WARNING")).run()


if __name__ == "__main__":
    main(sys.argv[1:])
