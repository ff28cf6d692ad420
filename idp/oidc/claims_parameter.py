"""The ``claims`` request parameter (OIDC Core 5.5): a JSON object whose ``userinfo`` and
``id_token`` members ask for individual claims, each ``null`` or an object with
``essential``, ``value`` or ``values``.

It is accepted at the authorization and PAR endpoints; malformed JSON or members are
``invalid_request``. Claims are released by the same rules as scope-based ones: a claim
belongs to a scope group (``profile``, ``email``, ``phone``, ``edu``), and an individually
requested claim is released only when the client is registered for its group; the
consent page asks for those groups too. Claims we do not know, and ``student_number``
(released to no client today), are never released. ``value``/``values`` matter for
``acr`` only (``idp.oidc.acr``); for other claims they are ignored, as 5.5.1 allows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

TARGETS = ("userinfo", "id_token")
MAX_CLAIMS_PER_TARGET = 64
# The scope whose consent covers each claim we can release individually.
CLAIM_SCOPES: Mapping[str, str] = {
    "name": "profile", "preferred_username": "profile", "updated_at": "profile",
    "email": "email", "email_verified": "email",
    "phone_number": "phone", "phone_number_verified": "phone",
    "org": "edu", "roles": "edu", "school": "edu",
}
# Claims the provider sets itself; a request for them changes nothing but ``acr``.
PROTOCOL_CLAIMS = ("sub", "acr", "amr", "auth_time", "sid", "iss", "aud")

ClaimsOf = Callable[[str, list[str]], dict[str, Any] | None]


class InvalidClaimsRequest(ValueError):
    """The ``claims`` parameter is not a valid claims request (``invalid_request``)."""


@dataclass(frozen=True)
class ClaimsRequest:
    """A validated claims request: per target, claim name -> its request (or None)."""

    userinfo: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    id_token: dict[str, dict[str, Any] | None] = field(default_factory=dict)

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any] | None) -> ClaimsRequest:
        """From the JSON kept with a code or token (already validated)."""
        if not stored:
            return cls()
        return cls(dict(stored.get("userinfo") or {}), dict(stored.get("id_token") or {}))

    def to_stored(self) -> dict[str, Any] | None:
        stored = {name: members for name, members in
                  (("userinfo", self.userinfo), ("id_token", self.id_token)) if members}
        return stored or None

    def names(self, target: str) -> list[str]:
        return list(self.userinfo if target == "userinfo" else self.id_token)

    def scope_groups(self, allowed: Iterable[str]) -> list[str]:
        """The scope groups the requested claims need, among ``allowed`` (the client's
        registered scopes): what the consent page must also cover."""
        permitted = set(allowed)
        wanted = [CLAIM_SCOPES[name] for target in TARGETS for name in self.names(target)
                  if name in CLAIM_SCOPES]
        return [group for group in dict.fromkeys(wanted) if group in permitted]

    def acr(self) -> dict[str, Any] | None:
        """The ``id_token.acr`` member (``{}`` when requested as ``null``)."""
        if "acr" not in self.id_token:
            return None
        return self.id_token["acr"] or {}


def parse_claims_request(value: str | None) -> ClaimsRequest:
    """Validate the ``claims`` parameter; ``InvalidClaimsRequest`` says what is wrong.
    Members other than ``userinfo`` and ``id_token`` are ignored (5.5)."""
    if value is None or value == "":
        return ClaimsRequest()
    try:
        document = json.loads(value)
    except ValueError:
        raise InvalidClaimsRequest("'claims' is not valid JSON.") from None
    if not isinstance(document, dict):
        raise InvalidClaimsRequest("'claims' must be a JSON object.")
    members: dict[str, dict[str, dict[str, Any] | None]] = {}
    for target in TARGETS:
        requested = document.get(target)
        if requested is None:
            continue
        if not isinstance(requested, dict) or len(requested) > MAX_CLAIMS_PER_TARGET:
            raise InvalidClaimsRequest(f"'claims.{target}' must be a JSON object.")
        checked: dict[str, dict[str, Any] | None] = {}
        for name, spec in requested.items():
            checked[name] = _checked_claim(target, name, spec)
        members[target] = checked
    return ClaimsRequest(members.get("userinfo", {}), members.get("id_token", {}))


def _checked_claim(target: str, name: str, spec: Any) -> dict[str, Any] | None:
    if not name or len(name) > 128:
        raise InvalidClaimsRequest(f"'claims.{target}' names an invalid claim.")
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise InvalidClaimsRequest(f"'claims.{target}.{name}' must be null or an object.")
    if "essential" in spec and not isinstance(spec["essential"], bool):
        raise InvalidClaimsRequest(f"'claims.{target}.{name}.essential' must be a boolean.")
    if "values" in spec and not isinstance(spec["values"], list):
        raise InvalidClaimsRequest(f"'claims.{target}.{name}.values' must be an array.")
    if "value" in spec and "values" in spec:
        raise InvalidClaimsRequest(f"'claims.{target}.{name}' has both value and values.")
    return {key: spec[key] for key in ("essential", "value", "values") if key in spec}


def released_claims(claims_of: ClaimsOf, person_id: str, granted_scopes: Iterable[str],
                    requested_names: Iterable[str], allowed_scopes: Iterable[str]
                    ) -> dict[str, Any] | None:
    """The person's claims for ``granted_scopes`` plus each individually requested claim
    whose scope group the client is registered for (``allowed_scopes``). ``None`` when
    the person is gone or inactive."""
    granted = list(granted_scopes)
    released = claims_of(person_id, granted)
    if released is None:
        return None
    permitted = set(allowed_scopes)
    extra = [name for name in requested_names if name not in released
             and CLAIM_SCOPES.get(name) in permitted]
    groups = list(dict.fromkeys(CLAIM_SCOPES[name] for name in extra))
    if groups:
        more = claims_of(person_id, groups) or {}
        released.update({name: more[name] for name in extra if name in more})
    return released
