"""What every page of the identity provider shares: the login-session cookie, the page
language and its translator, CSRF checks, and rendering (including the error page shown
when an error cannot be sent back to a client)."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Response, g, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from idp.mfa.acr import satisfies
from idp.mfa.factors import FactorRegistry
from idp.mfa.service import MultiFactor
from idp.mfa.throttle import ThrottleConfig
from idp.oauth2.server import Provider
from idp.oauth2.tokens import Subject
from idp.oidc.acr import session_acr
from idp.web.sessions import BrowserSession, SessionStore

if TYPE_CHECKING:
    from idp.web.mfa import SecondStep

Translator = Callable[..., str]
log = logging.getLogger("edutrust.idp")

# CSP for our pages: no scripts at all, inline styles only, never framed.
_PAGE_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
             "base-uri 'none'; frame-ancestors 'none'")


@dataclass(frozen=True)
class PageLanguage:
    """Injected by the app factory: ``negotiate(ui_locales)`` picks the language of the
    current request (ui_locales, then Accept-Language, then Chinese); ``translator(lang)``
    returns the catalog bound to it."""

    negotiate: Callable[[str | None], str]
    translator: Callable[[str], Translator]


@dataclass(frozen=True)
class LoginOption:
    """Another way to sign in, shown as a button under the password form (e.g. "Sign in
    with a passkey"): a catalog key and the Flask endpoint it leads to (called with
    ``?interaction=``)."""

    label_key: str
    endpoint: str


class WebContext:
    # The login's second step (idp.web.mfa), set by create_blueprint.
    second_step: SecondStep

    def __init__(self, provider: Callable[[], Provider], store: SessionStore,
                 language: PageLanguage, throttle: ThrottleConfig | None = None) -> None:
        self._provider = provider
        self.store = store
        self.language = language
        self.throttle_config = throttle or ThrottleConfig()
        # Second factors (idp.mfa.factors) and extra sign-in buttons; filled by
        # create_blueprint and by each factor's views (docs/mfa.md).
        self.factors = FactorRegistry()
        self.login_options: list[LoginOption] = []
        self._mfa: MultiFactor | None = None

    @property
    def mfa(self) -> MultiFactor:
        """The MFA services (TOTP, recovery codes, policy, notices, throttle), built on
        first use in each worker process, over the provider's database and store."""
        if self._mfa is None:
            provider = self.provider
            self._mfa = MultiFactor.open(provider.directory.sessions,
                                         provider.directory.fields, provider.short_lived,
                                         self.throttle_config)
        return self._mfa

    @property
    def provider(self) -> Provider:
        """The provider, built on first use in each worker process."""
        return self._provider()

    # -- cookie and session --------------------------------------------------------------
    @property
    def cookie_name(self) -> str:
        # The __Host- prefix pins the cookie to this host, path / and https.
        return ("__Host-edutrust_session" if self.provider.config.secure_cookies
                else "edutrust_session")

    def current_session(self) -> BrowserSession | None:
        if "idp_session" not in g:
            g.idp_session = self.store.load(request.cookies.get(self.cookie_name))
        found: BrowserSession | None = g.idp_session
        return found

    def session_or_new(self) -> BrowserSession:
        browser = self.current_session()
        if browser is None:
            browser = self.store.start()
            g.idp_session = browser
        return browser

    def set_cookie(self, response: BaseResponse, browser: BrowserSession) -> BaseResponse:
        if browser.cookie_value is not None:
            response.set_cookie(self.cookie_name, browser.cookie_value, path="/",
                                secure=self.provider.config.secure_cookies, httponly=True,
                                samesite="Lax")
        return response

    def subject(self, browser: BrowserSession | None) -> Subject | None:
        """The logged-in person of a session, if still active in the directory."""
        if browser is None or not browser.logged_in:
            return None
        assert browser.person_id is not None and browser.auth_time is not None
        if not self.provider.person_active(browser.person_id):
            return None
        amr = tuple(browser.amr) or ("pwd",)
        # A session from before the person's policy asked for more (a new role, a
        # stricter organisation policy) no longer counts: they log in again, both steps.
        if not satisfies(amr, self.mfa.policy.required_acr(browser.person_id)):
            return None
        return Subject(browser.person_id, browser.auth_time, amr, session_acr(amr),
                       browser.sid)

    # -- audit ---------------------------------------------------------------------------
    def audit(self, event: str, *, person_id: str | None = None,
              client_id: str | None = None, **details: Any) -> None:
        """Record an authentication event (``idp.audit.events``) with the request's
        address; ``details`` must not hold secrets or identifiers. A failed write is
        logged, never shown to the person (docs/audit.md)."""
        audit_log = self.provider.audit
        if audit_log is None:
            return
        try:
            audit_log.record(event, person_id=person_id, client_id=client_id,
                             ip=self.client_address(), details=details)
        except Exception:
            log.exception("audit write failed", extra={"fields": {"event": event}})

    @staticmethod
    def client_address() -> str | None:
        """The client's address as the server saw it; behind reverse proxies the app
        factory applies their forwarded hops (EDUTRUST_TRUSTED_PROXIES)."""
        return request.remote_addr

    @staticmethod
    def csrf_ok(browser: BrowserSession | None) -> bool:
        sent = request.form.get("csrf_token", "")
        return browser is not None and bool(sent) and hmac.compare_digest(
            sent.encode(), browser.csrf_token.encode())

    # -- rendering -----------------------------------------------------------------------
    def page_language(self, ui_locales: str | None = None) -> str:
        return self.language.negotiate(ui_locales)

    def render(self, template: str, lang: str, status: int = 200, **context: Any) -> Response:
        t = self.language.translator(lang)
        body = render_template(f"idp/{template}", t=t, lang=lang, **context)
        response = Response(body, status=status, content_type="text/html; charset=utf-8")
        response.headers["Content-Language"] = lang
        response.headers["Cache-Control"] = "no-store"
        response.headers["Content-Security-Policy"] = _PAGE_CSP
        return response

    def error_page(self, lang: str, error: str, description: str | None,
                   status: int = 400) -> Response:
        return self.render("error.html", lang, status, error=error,
                           description=description or "")
