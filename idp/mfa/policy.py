"""Per-organisation, per-role MFA policy: what a login of a person needs.

A person's requirement is the strongest over their memberships. A membership whose
organisation has no row for the role gets ``DEFAULTS``: teachers and staff handle
minors' data and need a second factor; regulators and operators need a passkey
(phishing-resistant). Requirements map to acr levels (``idp.mfa.acr``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from idp.directory.models import ROLES, Membership
from idp.mfa import MfaError
from idp.mfa.acr import ACR_MFA, ACR_PHR, stronger
from idp.mfa.models import REQUIREMENTS, OrgPolicy

NONE, MFA, PHR = REQUIREMENTS
DEFAULTS: dict[str, str] = {
    "student": NONE, "guardian": NONE,
    "teacher": MFA, "staff": MFA,
    "regulator": PHR, "operator": PHR,
}
_ACR = {NONE: None, MFA: ACR_MFA, PHR: ACR_PHR}


def requirement_acr(requirement: str) -> str | None:
    """The acr level a requirement asks for (``None`` for ``none``)."""
    return _ACR[requirement]


class PolicyStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def set(self, organisation_id: str, role: str, requirement: str) -> None:
        """What holders of ``role`` in the organisation need from now on."""
        if role not in ROLES:
            raise MfaError("mfa.policy.bad_role", role=role)
        if requirement not in REQUIREMENTS:
            raise MfaError("mfa.policy.bad_requirement", requirement=requirement)
        with self._sessions.begin() as session:
            row = session.get(OrgPolicy, (organisation_id, role))
            if row is None:
                row = OrgPolicy(organisation_id=organisation_id, role=role)
                session.add(row)
            row.requirement = requirement
            row.updated_at = dt.datetime.now(dt.UTC)

    def requirement_of(self, organisation_id: str, role: str) -> str:
        with self._sessions() as session:
            found = session.scalar(select(OrgPolicy.requirement).where(
                OrgPolicy.organisation_id == organisation_id, OrgPolicy.role == role))
        return found or DEFAULTS.get(role, NONE)

    def required_acr(self, person_id: str) -> str | None:
        """The acr level every login of ``person_id`` must reach (``None``: any)."""
        with self._sessions() as session:
            rows = session.execute(
                select(Membership.organisation_id, Membership.role, OrgPolicy.requirement)
                .outerjoin(OrgPolicy, (OrgPolicy.organisation_id == Membership.organisation_id)
                           & (OrgPolicy.role == Membership.role))
                .where(Membership.person_id == person_id)).all()
        level: str | None = None
        for _org, role, requirement in rows:
            level = stronger(level, _ACR[requirement or DEFAULTS.get(role, NONE)])
        return level
