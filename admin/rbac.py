"""Who may call the operator API.

A caller presents an access token of this platform's own provider as a Bearer token
(RFC 6750 2.1, Authorization header only). The token must be active (signature, expiry,
revocation: ``TokenService.active_access_token``), meant for the platform itself (its
audience the issuer, not another RFC 8707 resource), carry one of the scopes the endpoint
accepts, that scope must still be registered for its client, and its subject must be an
operator:

- a person's token (authorization code flow): the person is active and holds the
  ``operator`` role in some organisation of the directory;
- a client's own token (client_credentials): the client is registered as an operator
  client (``OperatorClients``; ``edutrust clients create --operator`` or the admin API).

Both are checked on every request, so taking the role or the flag away, or deleting
the client, takes effect at once rather than when tokens expire.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749.util import scope_to_list
from sqlalchemy import delete, select
from sqlalchemy.orm import sessionmaker

from admin import AccessDenied
from admin.models import OperatorClient
from idp.directory.service import Directory
from idp.oauth2.clients import ClientRegistry
from idp.oauth2.tokens import TokenService

ADMIN_SCOPE = "edutrust:admin"
DIRECTORY_IMPORT_SCOPE = "directory:import"
OPERATOR_ROLE = "operator"
REALM = "edutrust"
PERSON, CLIENT = "person", "client"


@dataclass(frozen=True)
class Operator:
    """The authenticated operator behind a request: a person (``id`` is the person id)
    or an operator client (``id`` is its client id), and the token's client."""

    kind: str  # "person" | "client"
    id: str
    client_id: str
    scopes: frozenset[str]


class OperatorClients:
    """The operator flag of clients."""

    def __init__(self, sessions: sessionmaker[Any]) -> None:
        self._sessions = sessions

    def is_operator(self, client_id: str) -> bool:
        with self._sessions() as session:
            return session.get(OperatorClient, client_id) is not None

    def among(self, client_ids: Iterable[str]) -> set[str]:
        """Which of these clients are operator clients."""
        ids = list(client_ids)
        if not ids:
            return set()
        with self._sessions() as session:
            return set(session.scalars(select(OperatorClient.client_id)
                                       .where(OperatorClient.client_id.in_(ids))))

    def set(self, client_id: str, operator: bool) -> None:
        with self._sessions.begin() as session:
            present = session.get(OperatorClient, client_id) is not None
            if operator and not present:
                session.add(OperatorClient(client_id=client_id,
                                           created_at=dt.datetime.now(dt.UTC)))
            elif not operator and present:
                session.execute(delete(OperatorClient)
                                .where(OperatorClient.client_id == client_id))


def _challenge(error: str | None = None, scope: str | None = None) -> str:
    parts = [f'realm="{REALM}"']
    if error:
        parts.append(f'error="{error}"')
    if scope:
        parts.append(f'scope="{scope}"')
    return "Bearer " + ", ".join(parts)


class OperatorAuthority:
    """Turns a Bearer token into an ``Operator``, or refuses with ``AccessDenied``."""

    def __init__(self, tokens: TokenService, clients: ClientRegistry, directory: Directory,
                 operator_clients: OperatorClients) -> None:
        self._tokens = tokens
        self._clients = clients
        self._directory = directory
        self._operator_clients = operator_clients

    def authorise(self, bearer: str | None, any_of: Sequence[str]) -> Operator:
        """The operator presenting ``bearer`` if the token holds one of ``any_of``."""
        if not bearer:
            raise AccessDenied(401, "admin_unauthorized", _challenge())
        found = self._tokens.active_access_token(bearer)
        client = self._clients.find(found[0].row.client_id) if found is not None else None
        if found is None or client is None:
            raise AccessDenied(401, "admin_invalid_token", _challenge("invalid_token"))
        record = found[0]
        # A scope counts only while the client is still registered for it.
        granted = frozenset(scope_to_list(record.row.scope) or []) & set(client.scopes)
        if not granted & set(any_of):
            wanted = " ".join(any_of)
            raise AccessDenied(403, "admin_insufficient_scope",
                               _challenge("insufficient_scope", wanted), scope=wanted)
        person_id = record.row.person_id
        if person_id is not None:
            person = self._directory.person(person_id)
            if (person is None or not person.active or OPERATOR_ROLE not in
                    {role for _code, _name, role in self._directory.roles_of(person_id)}):
                raise AccessDenied(403, "admin_not_operator")
            return Operator(PERSON, person_id, client.client_id, granted)
        if not self._operator_clients.is_operator(client.client_id):
            raise AccessDenied(403, "admin_not_operator")
        return Operator(CLIENT, client.client_id, client.client_id, granted)
