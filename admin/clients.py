"""Client management for operators: the core of ``/api/v1/admin/clients``.

A client is described by the same JSON members that its metadata document shows (OIDC
Registration 2 names, as ``edutrust clients create`` prints them), plus ``operator`` and
``org``. Every registration and change goes through ``ClientRegistry`` and is checked by
the same rules as the command line; a change is a JSON merge patch (RFC 7396) on the
current description, checked as a whole.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from admin import AdminError
from admin.rbac import OperatorClients
from idp.directory.service import Directory
from idp.oauth2 import ProviderError
from idp.oauth2.clients import AUTH_NONE, ClientRegistration, ClientRegistry, RegisteredClient

# Writable members and their JSON types (None allowed where the member is optional).
_STRINGS = ("client_name", "token_endpoint_auth_method", "scope",
            "id_token_signed_response_alg", "access_token_signed_response_alg",
            "access_token_format", "subject_type", "backchannel_logout_uri", "org")
_STRING_LISTS = ("grant_types", "redirect_uris", "post_logout_redirect_uris")
_BOOLEANS = ("first_party", "require_pkce", "require_pushed_authorization_requests",
             "backchannel_logout_session_required", "operator")
_OBJECTS = ("jwks",)
WRITABLE = (*_STRINGS, *_STRING_LISTS, *_BOOLEANS, *_OBJECTS)
# Shown by GET and ignored when sent back; the secret has its own endpoint.
READ_ONLY = ("client_id", "client_id_issued_at", "response_types", "org_id")
REQUIRED = ("client_name", "grant_types")
MAX_PAGE = 1000

Translate = Callable[..., str]


def _invalid(key: str, **values: object) -> AdminError:
    """A registration the rules refuse; the message is the catalog's ``key``."""
    error = AdminError(400, "admin_invalid_client")
    error.catalog_reason = (key, values)
    return error


def check_shape(document: Any, *, creating: bool) -> dict[str, Any]:
    """The members of a client description with their JSON types checked."""
    if not isinstance(document, dict):
        raise AdminError(400, "admin_bad_json", reason="not an object")
    if "client_secret" in document:
        raise _invalid("admin.client_secret_member")
    unknown = sorted(k for k in document if k not in WRITABLE and k not in READ_ONLY)
    if unknown:
        raise _invalid("admin.unknown_members", members=", ".join(unknown))
    for name in _STRINGS:
        value = document.get(name)
        if value is not None and not isinstance(value, str):
            raise _invalid("admin.member_type", member=name, type="string")
    for name in _STRING_LISTS:
        value = document.get(name)
        if value is not None and (not isinstance(value, list)
                                  or not all(isinstance(v, str) for v in value)):
            raise _invalid("admin.member_type", member=name, type="array of strings")
    for name in _BOOLEANS:
        value = document.get(name)
        if value is not None and not isinstance(value, bool):
            raise _invalid("admin.member_type", member=name, type="boolean")
    value = document.get("jwks")
    if value is not None and not isinstance(value, dict):
        raise _invalid("admin.member_type", member="jwks", type="object")
    if creating:
        missing = [name for name in REQUIRED if document.get(name) is None]
        if missing:
            raise _invalid("admin.missing_members", members=", ".join(missing))
    return {k: v for k, v in document.items() if k in WRITABLE}


@dataclass(frozen=True)
class ClientView:
    """A client as the API shows it; ``client_secret`` only right after it was set."""

    client: RegisteredClient
    operator: bool
    org_code: str | None
    client_secret: str | None = None

    def document(self) -> dict[str, Any]:
        body = self.client.metadata()
        body["operator"] = self.operator
        body["org"] = self.org_code
        if self.client_secret is not None:
            body["client_secret"] = self.client_secret
        return body


class ClientAdministration:
    """List, register, change, delete clients and rotate their secrets."""

    def __init__(self, clients: ClientRegistry, directory: Directory,
                 operators: OperatorClients) -> None:
        self._clients = clients
        self._directory = directory
        self._operators = operators

    # -- reading -------------------------------------------------------------------------
    def _view(self, client: RegisteredClient, secret: str | None = None,
              operator: bool | None = None) -> ClientView:
        if operator is None:
            operator = self._operators.is_operator(client.client_id)
        org = self._directory.organisation(client.org_id) if client.org_id else None
        return ClientView(client, operator, org.code if org is not None else None, secret)

    def get(self, client_id: str) -> ClientView:
        client = self._clients.find(client_id)
        if client is None:
            raise AdminError(404, "admin_client_not_found")
        return self._view(client)

    def page(self, limit: int, offset: int) -> list[ClientView]:
        clients = self._clients.all(limit=limit, offset=offset)
        operators = self._operators.among(c.client_id for c in clients)
        return [self._view(c, operator=c.client_id in operators) for c in clients]

    # -- changing ------------------------------------------------------------------------
    def create(self, document: Any) -> ClientView:
        members = check_shape(document, creating=True)
        registration = self._registration(members)
        operator = bool(members.get("operator"))
        self._check_operator(registration, operator)
        try:
            client, secret = self._clients.register(registration)
        except ProviderError as exc:
            raise _invalid(exc.key, **exc.values) from None
        if operator:
            try:
                self._operators.set(client.client_id, True)
            except Exception:
                self._clients.remove(client.client_id)  # never half-registered
                raise
        return self._view(client, secret, operator)

    def update(self, client_id: str, patch: Any) -> ClientView:
        current = self.get(client_id)
        changes = check_shape(patch, creating=False)
        members = _merge(self._members_of(current), changes)
        for name in REQUIRED:
            if members.get(name) is None:
                raise _invalid("admin.missing_members", members=name)
        registration = self._registration(members)
        operator = bool(members.get("operator"))
        self._check_operator(registration, operator)
        try:
            client = self._clients.update(client_id, registration)
        except ProviderError as exc:
            if exc.key == "clients.unknown":
                raise AdminError(404, "admin_client_not_found") from None
            raise _invalid(exc.key, **exc.values) from None
        if operator != current.operator:
            self._operators.set(client_id, operator)
        return self._view(client, operator=operator)

    def delete(self, client_id: str) -> None:
        if not self._clients.remove(client_id):
            raise AdminError(404, "admin_client_not_found")

    def rotate_secret(self, client_id: str) -> ClientView:
        try:
            secret = self._clients.new_secret(client_id)
        except ProviderError as exc:
            if exc.key == "clients.unknown":
                raise AdminError(404, "admin_client_not_found") from None
            raise AdminError(409, "admin_no_secret", **exc.values) from None
        return self._view(self.get(client_id).client, secret)

    # -- between JSON and registrations --------------------------------------------------
    @staticmethod
    def _members_of(view: ClientView) -> dict[str, Any]:
        """The writable members of a registered client."""
        c = view.client
        return {
            "client_name": c.name, "grant_types": list(c.grant_types),
            "redirect_uris": list(c.redirect_uris),
            "token_endpoint_auth_method": c.token_endpoint_auth_method,
            "scope": " ".join(c.scopes),
            "id_token_signed_response_alg": c.id_token_signed_response_alg,
            "access_token_signed_response_alg": c.access_token_signed_response_alg,
            "access_token_format": c.access_token_format, "subject_type": c.subject_type,
            "first_party": c.first_party, "require_pkce": c.require_pkce,
            "require_pushed_authorization_requests": c.require_par, "jwks": c.jwks,
            "post_logout_redirect_uris": list(c.post_logout_redirect_uris),
            "backchannel_logout_uri": c.backchannel_logout_uri,
            "backchannel_logout_session_required": c.backchannel_logout_session_required,
            "org": view.org_code, "operator": view.operator,
        }

    def _registration(self, members: dict[str, Any]) -> ClientRegistration:
        method = members.get("token_endpoint_auth_method")
        scope = members.get("scope")
        org_id = None
        if members.get("org") is not None:
            org = self._directory.find_organisation(members["org"])
            if org is None:
                raise _invalid("clients.org_unknown", code=members["org"])
            org_id = org.id
        return ClientRegistration(
            name=members["client_name"], grant_types=tuple(members["grant_types"]),
            redirect_uris=tuple(members.get("redirect_uris") or ()),
            public=method == AUTH_NONE,
            scopes=tuple(scope.split()) if scope is not None else None,
            id_token_alg=members.get("id_token_signed_response_alg"),
            access_token_alg=members.get("access_token_signed_response_alg"),
            access_token_format=members.get("access_token_format") or "jwt",
            token_endpoint_auth_method=method,
            subject_type=members.get("subject_type") or "pairwise",
            first_party=bool(members.get("first_party")),
            require_pkce=bool(members.get("require_pkce")), jwks=members.get("jwks"),
            require_par=bool(members.get("require_pushed_authorization_requests")),
            post_logout_redirect_uris=tuple(members.get("post_logout_redirect_uris") or ()),
            backchannel_logout_uri=members.get("backchannel_logout_uri"),
            backchannel_logout_session_required=bool(
                members.get("backchannel_logout_session_required")),
            org_id=org_id)

    @staticmethod
    def _check_operator(registration: ClientRegistration, operator: bool) -> None:
        # An operator client acts with its own tokens: it must be able to get them.
        if operator and (registration.public
                         or "client_credentials" not in registration.grant_types):
            raise _invalid("admin.operator_needs_client_credentials")


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7396 on the flat description: ``null`` removes a member (back to its
    default), anything else replaces it (``jwks`` is replaced whole, not merged)."""
    merged = dict(target)
    for name, value in patch.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


def page_bounds(limit: str | None, offset: str | None) -> tuple[int, int]:
    """``limit`` (1..1000, default 100) and ``offset`` (>= 0) from the query string."""
    try:
        size = int(limit) if limit is not None else 100
        start = int(offset) if offset is not None else 0
    except ValueError:
        raise AdminError(400, "admin_bad_page") from None
    if not 1 <= size <= MAX_PAGE or start < 0:
        raise AdminError(400, "admin_bad_page")
    return size, start
