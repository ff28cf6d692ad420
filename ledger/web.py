"""The ledger's public, read-only HTTP API (``/ledger/v1/...``): checkpoints, leaves,
inclusion and consistency proofs, blocks, status and the verifier keys to pin.

A thin Flask adapter over ``ledger.channel.Channel``: it parses query and path numbers,
calls the channel, and shapes the answer (docs/ledger.md "HTTP API"). It does not import
the composition root: the app hands in a function that returns the channel (opened once
per worker, on first use) and a factory for RFC 9457 problem responses, whose slugs name
messages in the app's catalog.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable
from typing import Any, Protocol

from flask import Blueprint, Response, jsonify, request

from ledger.channel import Channel
from ledger.errors import LedgerError, TreeRangeError
from ledger.merkle import MAX_TREE_SIZE, leaf_hash

log = logging.getLogger("ledger.web")

PREFIX = "/ledger/v1"
IMMUTABLE = "public, max-age=31536000, immutable"
# Sizes and indices are uint64 on the wire, but the database stores signed 64-bit
# integers: anything at or above 2**63 is certainly beyond the log and never queried.
_STORABLE = 1 << 63
_DIGITS = re.compile(r"[0-9]{1,20}", re.ASCII)


class ProblemFactory(Protocol):
    """Builds an ``application/problem+json`` response; ``slug`` names the problem type
    (``urn:edutrust:problem:<slug>``) and its translated title and detail."""

    def __call__(self, status: int, slug: str, **values: Any) -> Response: ...


class _Refusal(Exception):
    """A request the ledger API answers with a problem response."""

    def __init__(self, status: int, slug: str, **values: object) -> None:
        super().__init__(slug)
        self.status, self.slug, self.values = status, slug, values


def _number(text: str, name: str) -> int:
    """A uint64 written in ASCII decimal; anything else is a 400 problem."""
    if not _DIGITS.fullmatch(text) or int(text) > MAX_TREE_SIZE:
        raise _Refusal(400, "ledger_parameter", name=name)
    return int(text)


def _query_number(name: str) -> int:
    raw = request.args.get(name)
    if raw is None:
        raise _Refusal(400, "ledger_parameter", name=name)
    return _number(raw, name)


def _json(document: object, *, immutable: bool) -> Response:
    response = jsonify(document)
    response.headers["Cache-Control"] = IMMUTABLE if immutable else "no-cache"
    return response


def _text(body: bytes, *, cache: str) -> Response:
    response = Response(body, content_type="text/plain; charset=utf-8")
    response.headers["Cache-Control"] = cache
    return response


def ledger_blueprint(channel: Callable[[], Channel], problem: ProblemFactory) -> Blueprint:
    """The ``/ledger/v1`` routes over the channel that ``channel()`` returns."""
    bp = Blueprint("ledger", __name__, url_prefix=PREFIX)

    def beyond_log() -> _Refusal:
        status = channel().status()
        return _Refusal(404, "ledger_beyond_log", tree_size=status["tree_size"],
                        height=status["height"])

    def tree_size_or_refuse(size: int) -> None:
        """``size`` must not exceed the current tree (it may become valid later: 404)."""
        if size >= _STORABLE or size > channel().tree_size():
            raise beyond_log()

    @bp.errorhandler(_Refusal)
    def _refused(exc: _Refusal) -> Response:
        return problem(exc.status, exc.slug, **exc.values)

    @bp.errorhandler(TreeRangeError)
    def _range(exc: TreeRangeError) -> Response:
        # The channel raises it for a leaf, block or size the log does not hold (yet);
        # requests that contradict themselves were refused as 400 before any call.
        refusal = beyond_log()
        return problem(refusal.status, refusal.slug, **refusal.values)

    @bp.errorhandler(LedgerError)
    def _unavailable(exc: LedgerError) -> Response:
        log.warning("ledger unavailable: %s", exc)
        return problem(503, "ledger_unavailable")

    @bp.after_request
    def _no_caching_of_problems(response: Response) -> Response:
        if response.status_code >= 400:
            response.headers["Cache-Control"] = "no-store"
        return response

    @bp.get("/checkpoint")
    def checkpoint() -> Response:
        return _text(channel().checkpoint(), cache="no-cache")

    @bp.get("/keys")
    def keys() -> Response:
        lines = "".join(v.vkey() + "\n" for v in channel().verifiers())
        return _text(lines.encode(), cache="no-cache")

    @bp.get("/status")
    def status() -> Response:
        return _json(channel().status(), immutable=False)

    @bp.get("/leaves/<index>")
    def leaf(index: str) -> Response:
        number = _number(index, "index")
        if number >= _STORABLE:
            raise beyond_log()
        raw = channel().leaf(number)
        return _json({"index": number, "leaf": base64.b64encode(raw).decode("ascii"),
                      "leaf_hash": base64.b64encode(leaf_hash(raw)).decode("ascii")},
                     immutable=True)

    @bp.get("/blocks/<number>")
    def block(number: str) -> Response:
        height = _number(number, "number")
        if height >= _STORABLE:
            raise beyond_log()
        return _json(channel().block(height).to_doc(), immutable=True)

    @bp.get("/proof/inclusion")
    def inclusion() -> Response:
        index = _query_number("index")
        explicit = "size" in request.args
        size = _query_number("size") if explicit else channel().tree_size()
        if size == 0 or index >= size:
            raise _Refusal(400, "ledger_range")
        if explicit:
            tree_size_or_refuse(size)
        return _json(channel().inclusion_proof(index, size).to_json(), immutable=explicit)

    @bp.get("/proof/consistency")
    def consistency() -> Response:
        first = _query_number("from")
        explicit = "to" in request.args
        second = _query_number("to") if explicit else channel().tree_size()
        if first > second:
            raise _Refusal(400, "ledger_range")
        if explicit:
            tree_size_or_refuse(second)
        return _json(channel().consistency_proof(first, second).to_json(),
                     immutable=explicit)

    return bp


__all__ = ["IMMUTABLE", "PREFIX", "ProblemFactory", "ledger_blueprint"]
