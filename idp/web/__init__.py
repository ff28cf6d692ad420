"""Flask glue of the identity provider: one blueprint with the login and consent pages
and the OAuth 2.0 / OpenID Connect endpoints. The app factory passes in the provider,
the login-session store and the page language (the translation catalog lives in the
composition root, which this package never imports)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint

from idp.oauth2.rfc8414 import EndpointPaths
from idp.oauth2.server import Provider
from idp.web.authorize import AuthorizationViews
from idp.web.context import PageLanguage, WebContext
from idp.web.endpoints import ProtocolViews
from idp.web.login import LoginViews
from idp.web.logout import LogoutViews
from idp.web.par import PushedAuthorizationViews
from idp.web.registration import RegistrationViews
from idp.web.sessions import SessionStore

__all__ = ["PageLanguage", "create_blueprint"]


def create_blueprint(provider: Callable[[], Provider], store: SessionStore,
                     language: PageLanguage, paths: EndpointPaths) -> Blueprint:
    """``provider`` returns the (lazily built, then cached) provider of this process."""
    blueprint = Blueprint("idp", __name__, template_folder="templates")
    ctx = WebContext(provider, store, language)
    authorization, login, protocol = (AuthorizationViews(ctx), LoginViews(ctx),
                                      ProtocolViews(ctx))
    logout = LogoutViews(ctx)
    registration = RegistrationViews(ctx)
    store.on_end(logout.session_ended)
    rules = [
        (paths.end_session, "end_session", logout.end_session, ["GET", "POST"]),
        (paths.end_session + "/confirm", "end_session_confirm", logout.confirm, ["POST"]),
        (paths.authorization, "authorize", authorization.authorize, ["GET", "POST"]),
        (paths.authorization + "/resume", "resume", authorization.resume, ["GET"]),
        ("/oauth2/consent", "consent", authorization.consent, ["POST"]),
        ("/login", "login", login.form, ["GET"]),
        ("/login", "login_submit", login.submit, ["POST"]),
        ("/login/done", "login_done", login.done, ["GET"]),
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
    for path, endpoint, view, methods in rules:
        blueprint.add_url_rule(path, endpoint, view, methods=methods)
    return blueprint
