"""The pushed authorization request endpoint (RFC 9126 2): client authentication, the
authorization endpoint's own validation, then a one-minute ``request_uri``. Errors are
RFC 6749 JSON (never a redirect: the client called us directly)."""

from __future__ import annotations

import json
import logging

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidClientError
from flask import Response

from idp.oauth2.clients import RegisteredClient
from idp.oauth2.rfc8707 import joined
from idp.oauth2.rfc9126 import stored_parameters
from idp.oauth2.server import EduTrustAuthorizationServer, Provider
from idp.web.authorize import MAX_PARAM_LENGTH, AuthorizationViews
from idp.web.context import WebContext

log = logging.getLogger("edutrust.idp")

PAR_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _answer(body: dict[str, object], status: int,
            headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps(body), status=status, content_type="application/json")
    response.headers.update({**_NO_STORE, **(headers or {})})
    return response


def _error(error: str, description: str, status: int = 400) -> Response:
    return _answer({"error": error, "error_description": description}, status)


class PushedAuthorizationViews:
    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx

    @property
    def provider(self) -> Provider:
        return self.ctx.provider

    @property
    def server(self) -> EduTrustAuthorizationServer:
        return self.ctx.provider.authorization_server

    def push(self) -> Response:
        """POST /oauth2/par."""
        try:
            return self._push()
        except Exception:
            log.exception("pushed authorization request failed")
            return _error("server_error", "The server hit an unexpected error.", 500)

    def _push(self) -> Response:
        oauth_request = self.server.create_oauth2_request(None)
        try:
            client: RegisteredClient = self.server.authenticate_client(
                oauth_request, PAR_AUTH_METHODS, endpoint="par")
        except InvalidClientError as error:
            headers = dict(error.get_headers())
            return _answer({"error": "invalid_client",
                            "error_description": error.description or ""},
                           error.status_code or 401,
                           {k: v for k, v in headers.items() if k == "WWW-Authenticate"})
        form = oauth_request.form
        if any(len(form.getlist(key)) > 1 for key in form if key != "resource"):
            return _error("invalid_request", "A parameter is repeated.")
        params = stored_parameters({key: form[key] for key in form})
        if "resource" in form:  # RFC 8707: repeatable
            params["resource"] = joined(form.getlist("resource"))
        if any(len(value) > MAX_PARAM_LENGTH for value in params.values()):
            return _error("invalid_request", "A parameter is too long.")
        if params.setdefault("client_id", client.client_id) != client.client_id:
            return _error("invalid_request", "'client_id' is not the authenticated client.")
        if "request_uri" in params:  # RFC 9126 2.1
            return _error("invalid_request", "'request_uri' cannot be pushed.")
        refusal = (AuthorizationViews.unsupported(params, client, pushed=True)
                   or AuthorizationViews.invalid_extensions(self.provider, params))
        if refusal is not None:
            return _error(*refusal)
        try:
            self.server.get_consent_grant(
                request=AuthorizationViews.stored_request(self.provider, params),
                end_user=None)
        except OAuth2Error as error:
            return _error(error.error or "invalid_request", error.description or "")
        request_uri = self.provider.pushed_requests.push(client.client_id, params)
        return _answer({"request_uri": request_uri,
                        "expires_in": int(self.provider.pushed_requests.ttl.total_seconds())},
                       201)
