"""Authorization server issuer identification (RFC 9207): every authorization
response, success or error, carries ``iss`` so a client talking to several servers can
tell which one answered (mix-up attacks)."""

from __future__ import annotations

from authlib.common.urls import add_params_to_uri


def with_issuer(location: str, issuer: str) -> str:
    """``location`` (a redirect to the client) with the ``iss`` parameter added."""
    return str(add_params_to_uri(location, [("iss", issuer)]))
