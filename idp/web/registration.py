"""HTTP side of dynamic client registration: ``POST /oauth2/register`` (RFC 7591) and
GET/PUT/DELETE on each client's registration URI (RFC 7592). Bearer tokens only in the
Authorization header; errors are RFC 7591 3.2.2 JSON or an RFC 6750 challenge."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, request

from idp.oauth2.rfc7591 import DynamicClientRegistration, RegistrationError
from idp.web.context import WebContext
from idp.web.endpoints import oauth_errors

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _json(body: Any, status: int, headers: dict[str, str]) -> Response:
    response = Response(json.dumps(body, ensure_ascii=False), status=status,
                        content_type="application/json")
    response.headers.update(headers)
    return response


def _bearer() -> str | None:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return credentials.strip() or None if scheme.lower() == "bearer" else None


def _body() -> Any:
    if not request.is_json:
        raise RegistrationError("invalid_client_metadata",
                                "Send the metadata as application/json.")
    return request.get_json(silent=True)


def _error(error: RegistrationError) -> Response:
    headers = dict(_NO_STORE)
    if error.status == 401:
        headers["WWW-Authenticate"] = f'Bearer error="{error.error}"'
    return _json({"error": error.error, "error_description": error.description},
                 error.status, headers)


class RegistrationViews:
    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx

    @property
    def registration(self) -> DynamicClientRegistration:
        service = self.ctx.provider.registration
        assert service is not None
        return service

    @oauth_errors
    def register(self) -> Response:
        try:
            token = _bearer()
            if token is None:
                raise RegistrationError("invalid_token",
                                        "An initial access token is required.", 401)
            answer = self.registration.register(token, _body())
        except RegistrationError as error:
            return _error(error)
        return _json(answer.body, answer.status, _NO_STORE)

    @oauth_errors
    def manage(self, client_id: str) -> Response:
        try:
            if request.method == "GET":
                answer = self.registration.read(client_id, _bearer())
            elif request.method == "PUT":
                token = _bearer()
                self.registration.read(client_id, token)  # 401 before body errors
                answer = self.registration.replace(client_id, token, _body())
            else:
                answer = self.registration.delete(client_id, _bearer())
        except RegistrationError as error:
            return _error(error)
        if answer.body is None:
            return Response(status=answer.status, headers=_NO_STORE)
        return _json(answer.body, answer.status, _NO_STORE)
