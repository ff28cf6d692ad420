"""The machine-facing endpoints: token, revocation, introspection, UserInfo, JWKS and
the two metadata documents. Every failure is an RFC 6749 / RFC 6750 JSON error; an
unexpected exception is logged and answered ``server_error``, never a stack trace."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from flask import Response, request

from idp.oauth2.rfc8414 import authorization_server_metadata
from idp.oauth2.server import EduTrustAuthorizationServer, Provider
from idp.oidc.discovery import openid_configuration
from idp.oidc.userinfo import BearerError
from idp.web.context import WebContext

log = logging.getLogger("edutrust.idp")

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps(body, ensure_ascii=False), status=status,
                        content_type="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def oauth_errors(view: Callable[..., Response]) -> Callable[..., Response]:
    """Turn an unexpected exception in a protocol endpoint into ``server_error`` JSON."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return view(*args, **kwargs)
        except Exception:
            log.exception("protocol endpoint failed")
            return _json({"error": "server_error",
                          "error_description": "The server hit an unexpected error."},
                         500, _NO_STORE)

    return wrapper


class ProtocolViews:
    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx

    @property
    def provider(self) -> Provider:
        return self.ctx.provider

    @property
    def server(self) -> EduTrustAuthorizationServer:
        return self.ctx.provider.authorization_server

    @oauth_errors
    def token(self) -> Response:
        response: Response = self.server.create_token_response()
        schedule = self.provider.purge_schedule
        if schedule is not None:
            schedule.maybe_run()  # expired state, at most every few minutes (background)
        return response

    @oauth_errors
    def revoke(self) -> Response:
        response: Response = self.server.create_endpoint_response("revocation")
        return response

    @oauth_errors
    def introspect(self) -> Response:
        response: Response = self.server.create_endpoint_response("introspection")
        response.headers.update(_NO_STORE)
        return response

    @oauth_errors
    def userinfo(self) -> Response:
        header = request.headers.get("Authorization", "")
        scheme, _, credentials = header.partition(" ")
        from_header = credentials.strip() if scheme.lower() == "bearer" else None
        from_body = request.form.get("access_token") if request.method == "POST" else None
        cors = {"Access-Control-Allow-Origin": "*", **_NO_STORE}
        if from_header and from_body:
            error = BearerError("invalid_request", "Send the token in one place only.", 400)
            return _json({"error": error.error, "error_description": error.description},
                         400, {**cors, "WWW-Authenticate": error.www_authenticate()})
        try:
            claims = self.provider.userinfo.claims(from_header or from_body)
        except BearerError as error:
            return _json({"error": error.error, "error_description": error.description},
                         error.status, {**cors, "WWW-Authenticate": error.www_authenticate()})
        return _json(claims, 200, cors)

    @oauth_errors
    def jwks(self) -> Response:
        """The JWK Set, served from the in-process cache with an ETag; ``max-age`` is far
        shorter than the time a retired key stays published (``ProviderConfig``)."""
        published = self.provider.signing.published()
        max_age = int(self.provider.config.jwks_max_age.total_seconds())
        headers = {"Access-Control-Allow-Origin": "*", "ETag": published.etag,
                   "Cache-Control": f"public, max-age={max_age}"}
        if request.if_none_match.contains(published.etag.strip('"')):
            return Response(status=304, headers=headers)
        return Response(published.document, 200, headers=headers,
                        content_type="application/json")

    @oauth_errors
    def openid_configuration(self) -> Response:
        return _json(openid_configuration(self.provider.config, self.provider.paths), 200,
                     {"Access-Control-Allow-Origin": "*",
                      "Cache-Control": "public, max-age=3600"})

    @oauth_errors
    def authorization_server_metadata(self) -> Response:
        return _json(authorization_server_metadata(self.provider.config, self.provider.paths),
                     200, {"Access-Control-Allow-Origin": "*",
                           "Cache-Control": "public, max-age=3600"})
