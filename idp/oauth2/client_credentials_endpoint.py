"""The token endpoint's lean path for the client credentials grant (RFC 6749 4.4).

A client asking for its own stateless JWT access token is the provider's hottest request
(resource servers call it all day). This path answers it from the WSGI environ, without
Flask's request handling or Authlib's request objects, when it understands the request
completely: a POST with a small ``application/x-www-form-urlencoded`` body holding only
``grant_type=client_credentials``, ``scope``, ``resource`` (repeatable) and, for
``client_secret_post``, ``client_id`` / ``client_secret``, each once and non-empty; no
query string; credentials in exactly one place (HTTP Basic, RFC 6749 2.3.1, or the
body). It then runs the checks of the full path (the client exists, is registered for
that authentication method, its secret matches in constant time; then
``check_client_credentials_request``) and issues through the same function
(``issue_client_credentials_token``) only for clients whose tokens are stateless JWTs.

Anything else, and any request that would fail a check, is left to the full path
(``idp.web.endpoints`` with Authlib's grant) with its body restored, so every error
response, and every other grant, authentication method or token format, comes from one
place only.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.util import extract_basic_authorization

from idp.oauth2.clients import FORMAT_OPAQUE
from idp.oauth2.grants.client_credentials import (
    check_client_credentials_request,
    issue_client_credentials_token,
)
from idp.oauth2.tokens import CLIENT_CREDENTIALS

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from idp.oauth2.server import Provider

log = logging.getLogger("edutrust.idp")

# Larger bodies are not a client_credentials request this path needs to understand.
MAX_BODY = 4096
_FORM = "application/x-www-form-urlencoded"
_FIELDS = frozenset({"grant_type", "scope", "resource", "client_id", "client_secret"})
_REPEATABLE = frozenset({"resource"})
# What Authlib's grant answers a token with (RFC 6749 5.1).
TOKEN_RESPONSE_HEADERS = (("Content-Type", "application/json"),
                          ("Cache-Control", "no-store"), ("Pragma", "no-cache"))


@dataclass(frozen=True)
class ClientCredentialsRequest:
    """A client_credentials token request, as far as this path understands one."""

    client_id: str
    client_secret: str
    auth_method: str  # client_secret_basic | client_secret_post
    scope: str | None
    resources: tuple[str, ...]


def _read_body(environ: WSGIEnvironment) -> bytes | None:
    """The request body when it is short and of declared length; ``None`` (the stream
    untouched) otherwise."""
    length = environ.get("CONTENT_LENGTH") or ""
    if not (length.isascii() and length.isdigit()) or environ.get("HTTP_TRANSFER_ENCODING"):
        return None
    size = int(length)
    if size == 0 or size > MAX_BODY:
        return None
    body: bytes = environ["wsgi.input"].read(size)
    return body


def _is_form(content_type: str) -> bool:
    mimetype, _, parameters = content_type.partition(";")
    return (mimetype.strip().lower() == _FORM
            and parameters.strip().lower() in ("", "charset=utf-8"))


def parse_request(environ: WSGIEnvironment, body: bytes) -> ClientCredentialsRequest | None:
    """The request if this path understands it completely, else ``None``."""
    if (environ.get("QUERY_STRING") or not _is_form(environ.get("CONTENT_TYPE") or "")
            or not body.isascii()):
        return None
    try:
        pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=True,
                          errors="strict", max_num_fields=16)
    except ValueError:  # malformed, not UTF-8 once decoded, or too many fields
        return None
    form: dict[str, str] = {}
    resources: list[str] = []
    for name, value in pairs:
        if name not in _FIELDS or not value:
            return None
        if name in _REPEATABLE:
            resources.append(value)
        elif name in form:
            return None
        else:
            form[name] = value
    if form.get("grant_type") != CLIENT_CREDENTIALS:
        return None
    authorization = environ.get("HTTP_AUTHORIZATION")
    if authorization is not None:
        if "client_id" in form or "client_secret" in form:
            return None
        client_id, secret = extract_basic_authorization({"Authorization": authorization})
        method = "client_secret_basic"
    else:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        method = "client_secret_post"
    if not client_id or not secret:
        return None
    return ClientCredentialsRequest(client_id, secret, method, form.get("scope"),
                                    tuple(resources))


class ClientCredentialsEndpoint:
    """Answers the client_credentials requests it fully understands and grants."""

    def __init__(self, provider: Callable[[], Provider]) -> None:
        self._provider = provider

    def answer(self, environ: WSGIEnvironment) -> bytes | None:
        """The JSON body of a 200 token response (headers: ``TOKEN_RESPONSE_HEADERS``),
        or ``None``: the full path must answer, and can read the body again."""
        body = _read_body(environ)
        if body is None:
            return None
        token: dict[str, object] | None = None
        try:
            request = parse_request(environ, body)
            if request is not None:
                token = self._issue(request)
        except OAuth2Error:
            token = None  # the full path answers it with the same error
        except Exception:
            log.exception("lean token path failed; the full path answers")
            token = None
        if token is None:
            environ["wsgi.input"] = io.BytesIO(body)
            return None
        schedule = self._provider().purge_schedule
        if schedule is not None:
            schedule.maybe_run()  # as the full path does after every token request
        return json.dumps(token).encode()

    def _issue(self, request: ClientCredentialsRequest) -> dict[str, object] | None:
        provider = self._provider()
        client = provider.clients.find(request.client_id)
        # Authlib's order: the secret (constant time), then the registered method.
        if (client is None or not client.check_client_secret(request.client_secret)
                or not client.check_endpoint_auth_method(request.auth_method, "token")
                or client.access_token_format == FORMAT_OPAQUE):
            return None
        audience = check_client_credentials_request(
            client, request.scope, request.resources,
            provider.authorization_server.scopes_supported, provider.resource_servers)
        token: dict[str, object] = issue_client_credentials_token(
            provider.tokens, client, request.scope, audience)
        return token
