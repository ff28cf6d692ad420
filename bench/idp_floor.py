"""The floor rows of ``bench idp``: gunicorn, run with the options of ``edutrust serve``
(worker class, workers, threads), serving a WSGI app that per POST only reads the body,
makes one signature of a token-sized signing input and answers a token-sized JSON body:
SM2 with crypto.sm2 (as the SM2 ceiling does) on ``/oauth2/token``, ES256 with
``cryptography`` (as PyJWT signs our ES256 tokens) on ``/es256/token``. No routing
framework, no client, no claims: the most any Python token endpoint on our server stack
can serve with SM2 or ES256 tokens.

Run: ``python -m bench.idp_floor PORT WORKERS`` (bench/idp.py starts it).
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from bench.idp import ES256_HEADER, token_signing_input
from crypto.sm2 import SignatureEncoding, SM2PrivateKey
from edutrust.server import GunicornApp, gunicorn_options

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


class FloorApp:
    """One signature per POST (SM2, or ES256 on ``/es256/token``); any GET answers 200
    (the readiness check)."""

    def __init__(self) -> None:
        self._sm2 = SM2PrivateKey.generate()
        self._p256 = ec.generate_private_key(ec.SECP256R1())
        self._input = token_signing_input()
        self._es256_input = token_signing_input(ES256_HEADER)

    def _signed(self, es256: bool) -> bytes:
        if not es256:
            signature = self._sm2.sign(self._input, encoding=SignatureEncoding.RAW)
            return self._input + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")
        r, s = decode_dss_signature(self._p256.sign(self._es256_input,
                                                    ec.ECDSA(hashes.SHA256())))
        raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return self._es256_input + b"." + base64.urlsafe_b64encode(raw).rstrip(b"=")

    def __call__(self, environ: WSGIEnvironment,
                 start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
            return [b"ok"]
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        token = self._signed(environ.get("PATH_INFO") == "/es256/token").decode()
        body = json.dumps({"token_type": "Bearer", "expires_in": 900, "scope": "edu",
                           "access_token": token}).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Cache-Control", "no-store"), ("Pragma", "no-cache"),
                                  ("Content-Length", str(len(body)))])
        return [body]


def main(argv: list[str]) -> None:
    port, workers = int(argv[0]), int(argv[1])
    # FloorApp is built in each worker, after the fork.
    GunicornApp(gunicorn_options("127.0.0.1", port, workers, "WARNING"), FloorApp).run()


if __name__ == "__main__":
    main(sys.argv[1:])
