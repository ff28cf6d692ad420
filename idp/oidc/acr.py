"""Authentication context class references (OIDC Core 2 ``acr``, 3.1.2.1 ``acr_values``,
5.5.1.1 an essential ``acr`` in the ``claims`` request).

EduTrust's values are ordered, each meaning "at least": ``urn:edutrust:acr:pwd`` (one
factor, the password), ``urn:edutrust:acr:mfa`` (two factors) and ``urn:edutrust:acr:phr``
(phishing-resistant, e.g. a passkey). ``request_satisfied`` is the one place that
decides whether a login session satisfies what a client asked for; step-up (issue 5)
starts from its answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

ACR_PWD = "urn:edutrust:acr:pwd"  # noqa: S105 (an acr value, not a password)
ACR_MFA = "urn:edutrust:acr:mfa"
ACR_PHR = "urn:edutrust:acr:phr"
# Weakest first; a session at one level satisfies requests for it and for those below.
ACR_LEVELS = (ACR_PWD, ACR_MFA, ACR_PHR)
ACR_VALUES_SUPPORTED = ACR_LEVELS

# RFC 8176 method references that make a login phishing-resistant or multi-factor.
_PHISHING_RESISTANT_AMR = frozenset({"hwk", "swk"})
_SECOND_FACTOR_AMR = frozenset({"otp", "sms", "hwk", "swk", "fpt", "face", "mfa"})


def session_acr(amr: Iterable[str]) -> str:
    """The acr a login session reached, from how the person logged in (RFC 8176 amr)."""
    methods = set(amr)
    if methods & _PHISHING_RESISTANT_AMR:
        return ACR_PHR
    if "mfa" in methods or (len(methods) >= 2 and methods & _SECOND_FACTOR_AMR):
        return ACR_MFA
    return ACR_PWD


def _level(acr: str | None) -> int:
    return ACR_LEVELS.index(acr) if acr in ACR_LEVELS else -1


@dataclass(frozen=True)
class AcrRequest:
    """What a client asked for: the acceptable values and whether they are essential
    (``claims``) or voluntary (``acr_values``)."""

    values: tuple[str, ...]
    essential: bool


@dataclass(frozen=True)
class AcrDecision:
    satisfied: bool
    # The acr to put in the ID token: one of the requested values when satisfied (OIDC
    # Core 5.5.1.1), else the session's own.
    acr: str


def requested_acr(acr_values: str | None, id_token_acr: dict[str, object] | None
                  ) -> AcrRequest | None:
    """Combine ``acr_values`` and the ``claims`` request's ``id_token.acr`` member: an
    essential ``acr`` claim wins; otherwise ``acr_values`` are voluntary."""
    if id_token_acr is not None:
        values: Sequence[object] = ()
        if isinstance(id_token_acr.get("values"), list):
            values = id_token_acr["values"]  # type: ignore[assignment]
        elif isinstance(id_token_acr.get("value"), str):
            values = (id_token_acr["value"],)
        wanted = tuple(v for v in values if isinstance(v, str))
        if id_token_acr.get("essential") is True and wanted:
            return AcrRequest(wanted, True)
        if wanted and not acr_values:
            return AcrRequest(wanted, False)
    if acr_values:
        return AcrRequest(tuple(acr_values.split()), False)
    return None


def request_satisfied(current_acr: str, requested: AcrRequest | None) -> AcrDecision:
    """Does a session at ``current_acr`` satisfy ``requested``? Unknown values are never
    satisfied. When several requested values are met, the strongest one met is named."""
    if requested is None:
        return AcrDecision(True, current_acr)
    met = [value for value in requested.values
           if 0 <= _level(value) <= _level(current_acr)]
    if not met:
        return AcrDecision(False, current_acr)
    return AcrDecision(True, max(met, key=_level))
