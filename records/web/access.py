"""Who is calling the records API and what they may act as.

The composition root turns a bearer access token into a ``Caller`` (the records package
never sees the identity provider): a person acts through their directory memberships, a
client_credentials client for the one organisation it was registered for. Scopes on the
token say which kind of action the caller may attempt (RFC 6750 3.1
``insufficient_scope`` otherwise); the membership's role says whether the caller may do
it for that organisation; the records core then checks the organisation's own rights
(records.issuers) and the lifecycle.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from records.lifecycle import Actor

SUBMIT = "records:submit"
REVIEW = "records:review"
VERIFY = "records:verify"
SCOPES = (SUBMIT, REVIEW, VERIFY)

# The role a client_credentials client acts in for its organisation.
CLIENT_ROLE = "client"
# Directory roles that may register, submit, amend, withdraw (and suspend, reinstate and
# revoke their own) records for their organisation: a school's staff and teachers, a
# regulator issuing credit records, an enterprise's staff filing apps.
ISSUER_ROLES = frozenset({"staff", "teacher", "regulator", CLIENT_ROLE})
# Directory roles that may review for their organisation (an education department).
REVIEWER_ROLES = frozenset({"regulator", CLIENT_ROLE})
# The request header naming the organisation to act for, when a person may act for more
# than one.
ORG_HEADER = "EduTrust-Org"


@dataclass(frozen=True)
class Membership:
    """An organisation (its directory code) and the role the caller holds there."""

    org: str
    role: str


@dataclass(frozen=True)
class Caller:
    """The holder of a valid access token. ``ref`` is the directory person id, or
    ``client:<client_id>`` for a client acting for itself."""

    ref: str
    kind: str                     # "person" | "client"
    client_id: str
    scopes: frozenset[str]
    memberships: tuple[Membership, ...] = ()

    @property
    def is_person(self) -> bool:
        return self.kind == "person"

    def orgs(self, roles: Iterable[str]) -> list[str]:
        wanted = set(roles)
        return list(dict.fromkeys(m.org for m in self.memberships if m.role in wanted))


class AccessRefused(Exception):
    """The caller may not do this; ``slug`` names the problem, ``values`` its details."""

    def __init__(self, status: int, slug: str, **values: str) -> None:
        super().__init__(slug)
        self.status = status
        self.slug = slug
        self.values = values


def require_scope(caller: Caller, *scopes: str) -> None:
    """At least one of ``scopes`` must be on the token (RFC 6750 insufficient_scope)."""
    if not caller.scopes.intersection(scopes):
        raise AccessRefused(403, "records_insufficient_scope", scope=" ".join(scopes))


def choose_actor(caller: Caller, roles: Iterable[str], *, requested: str | None,
                 prefer: str | None = None) -> Actor:
    """The actor for an action that needs one of ``roles``: the organisation named in
    the request (``requested``), else ``prefer`` (e.g. the record's issuer) when the
    caller may act for it, else the caller's only eligible organisation."""
    allowed = set(roles)
    eligible = [m for m in caller.memberships if m.role in allowed]
    if requested is not None:
        eligible = [m for m in eligible if m.org == requested]
        if not eligible:
            raise AccessRefused(403, "records_not_member", org=requested)
    if not eligible:
        raise AccessRefused(403, "records_no_role")
    if prefer is not None and any(m.org == prefer for m in eligible):
        eligible = [m for m in eligible if m.org == prefer]
    orgs = list(dict.fromkeys(m.org for m in eligible))
    if len(orgs) > 1:
        raise AccessRefused(400, "records_org_required", header=ORG_HEADER,
                            orgs=", ".join(orgs))
    chosen = eligible[0]
    return Actor(caller.ref, chosen.role, chosen.org)
