"""Fixtures for the identity provider's tests outside ``provider/``: the same live
server (``live_idp``, one per test session), so modules such as the guardian-consent and
password-reset tests share one instead of starting their own."""

from tests.idp.provider.conftest import live_idp  # noqa: F401
