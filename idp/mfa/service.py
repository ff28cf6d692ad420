"""``MultiFactor``: the MFA services on one database and short-lived store, what the
login pages use (assembled once per worker, like the provider)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from crypto.fields import FieldCipher
from idp.mfa.notices import Notices
from idp.mfa.policy import PolicyStore
from idp.mfa.recovery import RecoveryCodes
from idp.mfa.throttle import LoginThrottle, ThrottleConfig
from idp.mfa.totp import TotpAuthenticators
from idp.shortlived import ShortLivedStore


@dataclass
class MultiFactor:
    totp: TotpAuthenticators
    recovery: RecoveryCodes
    policy: PolicyStore
    notices: Notices
    throttle: LoginThrottle

    @classmethod
    def open(cls, sessions: sessionmaker[Session], fields: FieldCipher,
             short_lived: ShortLivedStore, throttle: ThrottleConfig) -> MultiFactor:
        return cls(totp=TotpAuthenticators(sessions, fields),
                   recovery=RecoveryCodes(sessions), policy=PolicyStore(sessions),
                   notices=Notices(sessions), throttle=LoginThrottle(short_lived, throttle))
