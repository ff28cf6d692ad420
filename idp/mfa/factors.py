"""The second factors a person can have, as a small registry every factor plugs into.

A ``FactorType`` says what a factor is worth (the RFC 8176 ``amr`` values one
successful verification adds, whether it is phishing-resistant), where the login's
second step verifies it and where a person sets one up (Flask endpoint names), and how
to tell whether a person has one (``enrolled``). TOTP and recovery codes register in
``idp.web.mfa``; passkeys register from ``idp.web`` next to their own views. The login
flow only ever asks this registry, so a new factor needs no change to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

TOTP, RECOVERY, PASSKEY = "totp", "recovery", "passkey"


@dataclass(frozen=True)
class FactorType:
    # Short stable name, also used in URLs and audit details: "totp", "passkey", ...
    name: str
    # RFC 8176 values a successful verification adds to the login's amr.
    amr: tuple[str, ...]
    # Bound to our origin, so a phishing site cannot relay it (WebAuthn).
    phishing_resistant: bool
    # Flask endpoint (``"idp.mfa_totp"``) of the page that verifies this factor during
    # login; it is called with ``?interaction=`` when a login is waiting.
    challenge_endpoint: str
    # Flask endpoint where a person in the middle of a login sets this factor up when
    # their policy requires one they lack; ``None`` if it cannot be set up that way.
    enroll_endpoint: str | None
    # Catalog key of the factor's name on the choice and account pages.
    label_key: str
    # A fallback (recovery codes): offered beside the others, never enrolled by itself
    # and never enough to satisfy a policy on its own at enrollment time.
    fallback: bool = False
    # Order on the pages (lower first).
    order: int = 100


@dataclass
class FactorRegistry:
    """Registered factor types and, for each, ``enrolled(person_id) -> bool``."""

    _types: dict[str, tuple[FactorType, Callable[[str], bool]]] = field(default_factory=dict)

    def register(self, factor: FactorType, enrolled: Callable[[str], bool]) -> None:
        self._types[factor.name] = (factor, enrolled)

    def get(self, name: str) -> FactorType | None:
        entry = self._types.get(name)
        return entry[0] if entry else None

    def all(self) -> list[FactorType]:
        return sorted((entry[0] for entry in self._types.values()),
                      key=lambda f: (f.order, f.name))

    def of(self, person_id: str) -> list[FactorType]:
        """The factor types ``person_id`` has set up, in page order."""
        found = [factor for factor, enrolled in self._types.values() if enrolled(person_id)]
        return sorted(found, key=lambda f: (f.order, f.name))

    def enrollable(self, phishing_resistant: bool) -> list[FactorType]:
        """Factor types a person can set up during login to satisfy a requirement."""
        return [factor for factor in self.all()
                if factor.enroll_endpoint and not factor.fallback
                and (factor.phishing_resistant or not phishing_resistant)]
