"""What a login is worth, for the login flow: builds on ``idp.oidc.acr`` (the acr
values, ``session_acr`` and ``request_satisfied``, the one place deciding whether a
session satisfies a request) with what the second step needs: combining the ``amr`` of
two factors (RFC 8176, ``mfa`` when two kinds took part), the level a request or a
policy demands, and comparing levels.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from idp.oidc.acr import (
    ACR_LEVELS,
    ACR_MFA,
    ACR_PHR,
    ACR_PWD,
    AcrRequest,
    request_satisfied,
    session_acr,
)

__all__ = ["ACR_LEVELS", "ACR_MFA", "ACR_PHR", "ACR_PWD", "combine_amr", "level_of",
           "satisfies", "stronger"]

# RFC 8176 method values, grouped by the kind of factor they prove.
KNOWLEDGE = frozenset({"pwd", "pin"})
POSSESSION = frozenset({"otp", "hwk", "swk", "sms", "tel"})
INHERENCE = frozenset({"user", "fpt", "face", "iris", "vbm"})
MFA = "mfa"


def _kinds(amr: Iterable[str]) -> int:
    methods = set(amr)
    return sum(1 for kind in (KNOWLEDGE, POSSESSION, INHERENCE) if methods & kind)


def combine_amr(first: Sequence[str], added: Sequence[str]) -> list[str]:
    """The ``amr`` of a login that passed ``first`` and then ``added`` (order kept, no
    duplicates), with ``mfa`` appended when factors of two kinds took part."""
    out: list[str] = []
    for method in (*first, *added):
        if method != MFA and method not in out:
            out.append(method)
    if _kinds(out) >= 2 or MFA in first or MFA in added:
        out.append(MFA)
    return out


def _rank(acr: str | None) -> int:
    return ACR_LEVELS.index(acr) if acr in ACR_LEVELS else -1


def satisfies(amr: Iterable[str], level: str | None) -> bool:
    """Whether a login with ``amr`` reaches ``level`` (``None``: no requirement)."""
    if level is None:
        return True
    return request_satisfied(session_acr(amr), AcrRequest((level,), True)).satisfied


def stronger(a: str | None, b: str | None) -> str | None:
    """The stronger of two levels (``None`` means no requirement)."""
    if a is None:
        return b
    if b is None:
        return a
    return a if _rank(a) >= _rank(b) else b


def level_of(request: AcrRequest | None) -> str | None:
    """The level to step up to for ``request``: any listed known value would do, so the
    weakest of them (``None`` when no known value is listed)."""
    if request is None:
        return None
    known = [value for value in request.values if value in ACR_LEVELS]
    return min(known, key=_rank) if known else None
