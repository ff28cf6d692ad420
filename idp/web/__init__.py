"""Flask glue of the identity provider: one blueprint with the login and consent pages
and the OAuth 2.0 / OpenID Connect endpoints. The app factory passes in the provider,
the login-session store and the page language (the translation catalog lives in the
composition root, which this package never imports)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint

from idp.mfa.throttle import ThrottleConfig
from idp.oauth2.rfc8414 import EndpointPaths
from idp.oauth2.server import Provider
from idp.web.authorize import AuthorizationViews
from idp.web.consents import ConsentViews
from idp.web.context import PageLanguage, WebContext
from idp.web.endpoints import ProtocolViews
from idp.web.guardians import GuardianViews
from idp.web.login import LoginViews
from idp.web.logout import LogoutViews
from idp.web.mfa import ROUTES as MFA_ROUTES
from idp.web.mfa import SecondStep, SecondStepViews, register_builtin_factors
from idp.web.par import PushedAuthorizationViews
from idp.web.passkeys import ROUTES as PASSKEY_ROUTES
from idp.web.passkeys import PasskeyViews
from idp.web.password_reset import PasswordResetViews
from idp.web.registration import RegistrationViews
from idp.web.sessions import SessionStore

__all__ = ["PageLanguage", "create_blueprint"]


def create_blueprint(provider: Callable[[], Provider], store: SessionStore,
                     language: PageLanguage, paths: EndpointPaths,
                     throttle: ThrottleConfig | None = None) -> Blueprint:
    """``provider`` returns the (lazily built, then cached) provider of this process;
    ``throttle`` tunes login throttling (idp.mfa.throttle)."""
    # static/: passkeys.js, served from our own origin at /idp/static/.
    blueprint = Blueprint("idp", __name__, template_folder="templates",
                          static_folder="static", static_url_path="/idp/static")
    ctx = WebContext(provider, store, language, throttle)
    # The login's second step; factors plug in through ctx.factors (docs/mfa.md).
    ctx.second_step = second_step = SecondStep(ctx)
    register_builtin_factors(ctx)
    mfa = SecondStepViews(ctx, second_step)
    passkeys = PasskeyViews(ctx)  # registers the factor and the login-page option
    authorization, login, protocol = (AuthorizationViews(ctx), LoginViews(ctx, second_step),
                                      ProtocolViews(ctx))
    logout = LogoutViews(ctx)
    registration = RegistrationViews(ctx)
    store.on_end(logout.session_ended)
    guardians, password_reset = GuardianViews(ctx), PasswordResetViews(ctx)
    consents = ConsentViews(ctx)
    rules = [
        (paths.end_session, "end_session", logout.end_session, ["GET", "POST"]),
        (paths.end_session + "/confirm", "end_session_confirm", logout.confirm, ["POST"]),
        (paths.authorization, "authorize", authorization.authorize, ["GET", "POST"]),
        (paths.authorization + "/resume", "resume", authorization.resume, ["GET"]),
        ("/oauth2/consent", "consent", authorization.consent, ["POST"]),
        ("/login", "login", login.form, ["GET"]),
        ("/login", "login_submit", login.submit, ["POST"]),
        ("/login/done", "login_done", login.done, ["GET"]),
        ("/account/consents", "account_consents", consents.page, ["GET"]),
        ("/account/consents", "account_consents_withdraw", consents.withdraw, ["POST"]),
        ("/guardians/consents", "guardian_consents", guardians.page, ["GET"]),
        ("/guardians/consents", "guardian_decide", guardians.decide, ["POST"]),
        ("/password/reset-links", "password_reset_links", password_reset.issue_form,
         ["GET"]),
        ("/password/reset-links", "password_reset_issue", password_reset.issue, ["POST"]),
        ("/password/reset/<token>", "password_reset", password_reset.form, ["GET"]),
        ("/password/reset/<token>", "password_reset_submit", password_reset.submit,
         ["POST"]),
        (paths.token, "token", protocol.token, ["POST"]),
        (paths.par, "par", PushedAuthorizationViews(ctx).push, ["POST"]),
        (paths.registration, "register", registration.register, ["POST"]),
        (paths.registration + "/<client_id>", "registration", registration.manage,
         ["GET", "PUT", "DELETE"]),
        (paths.revocation, "revoke", protocol.revoke, ["POST"]),
        (paths.introspection, "introspect", protocol.introspect, ["POST"]),
        (paths.userinfo, "userinfo", protocol.userinfo, ["GET", "POST"]),
        (paths.jwks, "jwks", protocol.jwks, ["GET"]),
        ("/.well-known/openid-configuration", "openid_configuration",
         protocol.openid_configuration, ["GET"]),
        ("/.well-known/oauth-authorization-server", "authorization_server_metadata",
         protocol.authorization_server_metadata, ["GET"]),
    ]
    rules += [(path, endpoint, getattr(mfa, name), methods)
              for path, endpoint, name, methods in MFA_ROUTES]
    rules += [(path, endpoint, getattr(passkeys, name), methods)
              for path, endpoint, name, methods in PASSKEY_ROUTES]
    for path, endpoint, view, methods in rules:
        blueprint.add_url_rule(path, endpoint, view, methods=methods)
    return blueprint
