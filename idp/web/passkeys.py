"""Passkey pages and endpoints: sign in with a passkey (username-less or after typing a
username), a passkey as the login's second step or as the factor set up in guided
enrollment, and the account page that lists, adds, renames and removes passkeys.

The browser side is ``static/passkeys.js`` (served from our origin, no CDN): it fetches
options as JSON from ``/passkeys/.../options`` (CSRF token in ``X-CSRF-Token``), calls
``navigator.credentials.create/get``, and posts the result back *as a normal form*
(field ``credential``, JSON with base64url binary members), so every outcome is an
ordinary page or redirect, the same as the password form's. Ceremonies are bound to the
browser session (idp.webauthn.ceremonies); passkeys plug into the second step through
``ctx.factors`` (docs/mfa.md).
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
from typing import Any

from flask import Response, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from idp.audit import events
from idp.mfa.acr import combine_amr
from idp.mfa.factors import PASSKEY, FactorType
from idp.web.context import LoginOption, WebContext
from idp.web.mfa import ENROLL as ENROLL_STEP
from idp.web.mfa import PartialLogin
from idp.web.sessions import BrowserSession
from idp.webauthn import CounterRegression, PasskeyError
from idp.webauthn.ceremonies import MAX_RESPONSE, Passkeys, RelyingParty
from idp.webauthn.challenges import challenge_store
from idp.webauthn.factor import passkey_methods

# Our pages run exactly one script, passkeys.js from our own origin, which may fetch
# only from our origin; nothing inline.
PASSKEY_CSP = ("default-src 'none'; script-src 'self'; connect-src 'self'; "
               "style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; "
               "form-action 'self'; frame-ancestors 'none'")
# Adding or removing a passkey needs a login at most this old.
RECENT_LOGIN = dt.timedelta(minutes=10)
MAX_USERNAME = 256
PROBLEM_TYPE = "urn:edutrust:problem:"
# Steps an options request may be for.
SIGN_IN, SECOND, ENROLL, ACCOUNT = "sign_in", "second", "enroll", "account"


class PasskeyViews:
    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx
        self._service: Passkeys | None = None
        ctx.factors.register(
            FactorType(name=PASSKEY, amr=("hwk", "user"), phishing_resistant=True,
                       challenge_endpoint="idp.passkey_login_step",
                       enroll_endpoint="idp.passkey_enroll_step",
                       label_key="idp.mfa.factor.passkey", order=10),
            lambda person_id: self.service.count(person_id) > 0)
        ctx.login_options.append(LoginOption("idp.passkey.sign_in", "idp.passkey_login"))

    @property
    def service(self) -> Passkeys:
        """The passkey service, built on first use in each worker process: RP ID and
        origin from the issuer; audit events through ``ctx.audit``."""
        if self._service is None:
            provider = self.ctx.provider
            fields = provider.directory.fields
            self._service = Passkeys(
                provider.directory.sessions,
                challenge_store(provider.short_lived, provider.directory.sessions),
                RelyingParty.for_issuer(provider.config.issuer),
                lambda username: fields.blind_index(username, "passkey-decoy"),
                lambda event, person_id, details: self.ctx.audit(
                    event, person_id=person_id, **details))
        return self._service

    # -- helpers -------------------------------------------------------------------------
    def _page(self, template: str, lang: str, status: int = 200,
              **context: Any) -> Response:
        response = self.ctx.render(template, lang, status, **context)
        response.headers["Content-Security-Policy"] = PASSKEY_CSP
        return response

    def _problem(self, status: int, key: str, lang: str, **values: object) -> Response:
        """RFC 9457 problem details in the page language."""
        t = self.ctx.language.translator(lang)
        body = {"type": PROBLEM_TYPE + key.replace(".", "-").replace("_", "-"),
                "title": t("idp.passkey.problem"), "status": status,
                "detail": t(key, **values)}
        response = Response(json.dumps(body, ensure_ascii=False), status=status,
                            content_type="application/problem+json")
        response.headers["Content-Language"] = lang
        response.headers["Cache-Control"] = "no-store"
        return response

    def _reported(self, error: PasskeyError) -> None:
        """A passkey just found to be possibly cloned: tell its owner (a security notice
        on their next login and on the account page); the audit entry is written by the
        service."""
        if isinstance(error, CounterRegression) and error.detected:
            self.ctx.mfa.notices.add(error.person_id, "passkey_cloned")

    @staticmethod
    def _json(text: str) -> Response:
        response = Response(text, content_type="application/json")
        response.headers["Cache-Control"] = "no-store"
        return response

    @staticmethod
    def _csrf_header_ok(browser: BrowserSession | None) -> bool:
        sent = request.headers.get("X-CSRF-Token", "")
        return browser is not None and bool(sent) and hmac.compare_digest(
            sent.encode(), browser.csrf_token.encode())

    @staticmethod
    def _credential() -> dict[str, Any] | None:
        raw = request.form.get("credential", "")
        if not raw or len(raw) > MAX_RESPONSE:
            return None
        try:
            found = json.loads(raw)
        except ValueError:
            return None
        return found if isinstance(found, dict) else None

    def _lang(self, interaction: str = "") -> str:
        browser = self.ctx.current_session()
        pending = browser.pending().get(interaction) if browser and interaction else None
        return (pending or {}).get("lang") or self.ctx.page_language(
            request.args.get("ui_locales"))

    def _client_id(self, browser: BrowserSession, interaction: str) -> str | None:
        pending = browser.pending().get(interaction) if interaction else None
        found = pending["params"].get("client_id") if pending else None
        return found if isinstance(found, str) else None

    # -- options (JSON) ------------------------------------------------------------------
    def registration_options(self) -> Response:
        """POST /passkeys/registration/options: creation options for the logged-in
        person (``{"step": "account"}``) or for the person of a waiting login in guided
        enrollment (``{"step": "enroll"}``)."""
        browser = self.ctx.current_session()
        lang = self._lang()
        if not self._csrf_header_ok(browser):
            return self._problem(403, "idp.error.csrf", lang)
        assert browser is not None
        body = _json_object()
        step = str(body.get("step", ACCOUNT))
        person_id = self._registering(browser, step)
        if person_id is None:
            subject = self.ctx.subject(browser)
            if step != ENROLL and subject is not None:   # signed in, but not recently
                return self._problem(403, "passkey.reauthenticate", lang)
            return self._problem(401, "passkey.not_signed_in", lang)
        try:
            return self._json(self.service.registration_options(person_id, browser.id_hash))
        except PasskeyError as error:
            return self._problem(400, error.key, lang, **error.values)

    def _registering(self, browser: BrowserSession, step: str) -> str | None:
        """Who may register a passkey now: in guided enrollment, the person of the
        waiting login, and only when the flow itself asks for a passkey; on the account
        page, a person who signed in within ``RECENT_LOGIN``."""
        if step == ENROLL:
            partial = self.ctx.second_step.partial(browser)
            return partial.person_id if self._may_enroll(partial) else None
        subject = self.ctx.subject(browser)
        if subject is None or not _recent(subject.auth_time):
            return None
        return subject.person_id

    def _may_enroll(self, partial: PartialLogin | None) -> bool:
        """Whether the waiting login's next step is enrollment offering a passkey: a
        person who has a second factor must prove it, not replace it by a new passkey."""
        if partial is None:
            return False
        step, factors = self.ctx.second_step.next_step(partial)
        return step == ENROLL_STEP and PASSKEY in [f.name for f in factors]

    def authentication_options(self) -> Response:
        """POST /passkeys/authentication/options: request options to sign in
        (``{"step": "sign_in", "username": ...}``; no username: any discoverable passkey)
        or for the second step of a waiting login (``{"step": "second"}``)."""
        browser = self.ctx.current_session()
        lang = self._lang()
        if not self._csrf_header_ok(browser):
            return self._problem(403, "idp.error.csrf", lang)
        assert browser is not None
        body = _json_object()
        step = str(body.get("step", SIGN_IN))
        if step == SECOND:
            partial = self.ctx.second_step.partial(browser)
            if partial is None:
                return self._problem(401, "passkey.not_signed_in", lang)
            options = self.service.authentication_options(browser.id_hash,
                                                          person_id=partial.person_id)
        else:
            username = body.get("username")
            username = username[:MAX_USERNAME] if isinstance(username, str) else None
            options = self.service.authentication_options(browser.id_hash,
                                                          username=username or None)
        return self._json(options)

    # -- sign in with a passkey (first factor) -------------------------------------------
    def sign_in(self) -> BaseResponse:
        """GET /login/passkey: the passkey sign-in page."""
        interaction = request.args.get("interaction", "")
        return self._sign_in_page(interaction, failed=None)

    def _sign_in_page(self, interaction: str, failed: str | None,
                      username: str = "") -> BaseResponse:
        browser = self.ctx.session_or_new()
        pending = browser.pending().get(interaction) if interaction else None
        lang = self._lang(interaction)
        response = self._page("passkey_login.html", lang, 400 if failed else 200,
                              csrf_token=browser.csrf_token,
                              interaction=interaction if pending else "",
                              username=username, failed=failed)
        return self.ctx.set_cookie(response, browser)

    def sign_in_submit(self) -> BaseResponse:
        """POST /login/passkey: verify the assertion, then the login goes on as after a
        password (policy, second step if still needed, fresh session)."""
        browser = self.ctx.current_session()
        interaction = request.form.get("interaction", "")
        lang = self._lang(interaction)
        if browser is None or not self.ctx.csrf_ok(browser):
            return self.ctx.error_page(lang, "csrf", None, 403)
        username = request.form.get("username", "")[:MAX_USERNAME]
        credential = self._credential()
        client_id = self._client_id(browser, interaction)
        try:
            if credential is None:
                raise PasskeyError("passkey.invalid_response")
            assertion = self.service.authenticate(browser.id_hash, credential)
        except PasskeyError as error:
            self._reported(error)
            self.ctx.audit(events.LOGIN_FAILED, client_id=client_id,
                           reason=error.key.replace("passkey.", "passkey_"))
            return self._sign_in_page(interaction, error.key, username)
        methods = passkey_methods(assertion)
        self.ctx.audit(events.LOGIN_SUCCEEDED, person_id=assertion.person_id,
                       client_id=client_id, method=methods[0])
        return self.ctx.second_step.first_factor_passed(
            browser, assertion.person_id, combine_amr([], methods), interaction, lang=lang)

    # -- second step and guided enrollment -----------------------------------------------
    def login_step(self) -> BaseResponse:
        """GET/POST /login/mfa/passkey: a passkey as the second factor."""
        browser = self.ctx.current_session()
        partial = self.ctx.second_step.partial(browser)
        if browser is None or partial is None:
            return self.ctx.error_page(self._lang(), "interaction_expired", None)
        failed: str | None = None
        if request.method == "POST":
            if not self.ctx.csrf_ok(browser):
                return self.ctx.error_page(partial.lang, "csrf", None, 403)
            credential = self._credential()
            try:
                if credential is None:
                    raise PasskeyError("passkey.invalid_response")
                assertion = self.service.authenticate(browser.id_hash, credential)
                if assertion.person_id != partial.person_id:   # bound by the options too
                    raise PasskeyError("passkey.unknown_credential")
            except PasskeyError as error:
                self._reported(error)
                locked = self.ctx.second_step.factor_failed(browser, PASSKEY)
                if locked is not None:
                    return locked
                failed = error.key
            else:
                return self.ctx.second_step.factor_passed(browser, PASSKEY,
                                                          passkey_methods(assertion))
        others = any(f.name not in (PASSKEY, *partial.used)
                     for f in self.ctx.factors.of(partial.person_id))
        return self._page("passkey_step.html", partial.lang, 400 if failed else 200,
                          csrf_token=browser.csrf_token, failed=failed, others=others,
                          interaction=partial.interaction)

    def enroll_step(self) -> BaseResponse:
        """GET/POST /login/mfa/passkey/enroll: the person's policy needs a passkey they
        do not have yet; registering one (with user verification) counts as the factor
        of this login, as confirming a TOTP code does."""
        browser = self.ctx.current_session()
        partial = self.ctx.second_step.partial(browser)
        if browser is None or partial is None:
            return self.ctx.error_page(self._lang(), "interaction_expired", None)
        if not self._may_enroll(partial):
            return redirect(url_for("idp.mfa_next"), code=303)
        failed: str | None = None
        if request.method == "POST":
            if not self.ctx.csrf_ok(browser):
                return self.ctx.error_page(partial.lang, "csrf", None, 403)
            credential = self._credential()
            try:
                if credential is None:
                    raise PasskeyError("passkey.invalid_response")
                info = self.service.register(partial.person_id, browser.id_hash, credential,
                                             request.form.get("name", ""))
            except PasskeyError as error:
                failed = error.key
            else:
                self.ctx.mfa.notices.add(partial.person_id, "factor_added", factor=PASSKEY)
                methods = ["swk" if info.backup_eligible else "hwk", "user"]
                return self.ctx.second_step.factor_passed(browser, PASSKEY, methods)
        return self._page("passkey_enroll.html", partial.lang, 400 if failed else 200,
                          csrf_token=browser.csrf_token, failed=failed,
                          action=url_for("idp.passkey_enroll_step"), step=ENROLL)

    # -- account page --------------------------------------------------------------------
    def _account(self) -> tuple[BrowserSession, str, dt.datetime] | BaseResponse:
        browser = self.ctx.current_session()
        subject = self.ctx.subject(browser)
        if browser is None or subject is None:
            return redirect(url_for("idp.login"), code=303)
        return browser, subject.person_id, subject.auth_time

    def _account_page(self, browser: BrowserSession, person_id: str, auth_time: dt.datetime,
                      *, failed: str | None = None, status: int = 200) -> BaseResponse:
        lang = self.ctx.page_language(request.args.get("ui_locales"))
        recent = _recent(auth_time)
        return self._page("passkey_account.html", lang, status,
                          passkeys=self.service.passkeys_of(person_id),
                          csrf_token=browser.csrf_token, failed=failed, recent=recent,
                          action=url_for("idp.account_passkeys_add"), step=ACCOUNT)

    def account(self) -> BaseResponse:
        """GET /account/passkeys: the person's passkeys."""
        found = self._account()
        if isinstance(found, BaseResponse):
            return found
        return self._account_page(*found)

    def account_add(self) -> BaseResponse:
        """POST /account/passkeys: register a new passkey under a name."""
        found = self._account()
        if isinstance(found, BaseResponse):
            return found
        browser, person_id, auth_time = found
        if not self.ctx.csrf_ok(browser):
            return self.ctx.error_page(self._lang(), "csrf", None, 403)
        if not _recent(auth_time):
            return self._account_page(browser, person_id, auth_time,
                                      failed="passkey.reauthenticate", status=403)
        credential = self._credential()
        try:
            if credential is None:
                raise PasskeyError("passkey.invalid_response")
            self.service.register(person_id, browser.id_hash, credential,
                                  request.form.get("name", ""))
        except PasskeyError as error:
            return self._account_page(browser, person_id, auth_time, failed=error.key,
                                      status=400)
        self.ctx.mfa.notices.add(person_id, "factor_added", factor=PASSKEY)
        return redirect(url_for("idp.account_passkeys"), code=303)

    def account_rename(self, passkey_id: str) -> BaseResponse:
        """POST /account/passkeys/<id>/rename"""
        found = self._account()
        if isinstance(found, BaseResponse):
            return found
        browser, person_id, _auth_time = found
        if not self.ctx.csrf_ok(browser):
            return self.ctx.error_page(self._lang(), "csrf", None, 403)
        self.service.rename(person_id, passkey_id, request.form.get("name", ""))
        return redirect(url_for("idp.account_passkeys"), code=303)

    def account_remove(self, passkey_id: str) -> BaseResponse:
        """POST /account/passkeys/<id>/remove: only within ``RECENT_LOGIN`` of signing
        in (as adding), so a session left open on a shared computer can neither strip
        someone's passkeys nor add the intruder's own."""
        found = self._account()
        if isinstance(found, BaseResponse):
            return found
        browser, person_id, auth_time = found
        if not self.ctx.csrf_ok(browser):
            return self.ctx.error_page(self._lang(), "csrf", None, 403)
        if not _recent(auth_time):
            return self._account_page(browser, person_id, auth_time,
                                      failed="passkey.reauthenticate", status=403)
        if self.service.remove(person_id, passkey_id):
            self.ctx.mfa.notices.add(person_id, "factor_removed", factor=PASSKEY)
        return redirect(url_for("idp.account_passkeys"), code=303)


def _json_object() -> dict[str, Any]:
    found = request.get_json(silent=True)
    return found if isinstance(found, dict) else {}


def _recent(auth_time: dt.datetime) -> bool:
    return dt.datetime.now(dt.UTC) - auth_time <= RECENT_LOGIN


ROUTES = (
    ("/login/passkey", "passkey_login", "sign_in", ["GET"]),
    ("/login/passkey", "passkey_login_submit", "sign_in_submit", ["POST"]),
    ("/login/mfa/passkey", "passkey_login_step", "login_step", ["GET", "POST"]),
    ("/login/mfa/passkey/enroll", "passkey_enroll_step", "enroll_step", ["GET", "POST"]),
    ("/passkeys/registration/options", "passkey_registration_options",
     "registration_options", ["POST"]),
    ("/passkeys/authentication/options", "passkey_authentication_options",
     "authentication_options", ["POST"]),
    ("/account/passkeys", "account_passkeys", "account", ["GET"]),
    ("/account/passkeys", "account_passkeys_add", "account_add", ["POST"]),
    ("/account/passkeys/<passkey_id>/rename", "account_passkey_rename", "account_rename",
     ["POST"]),
    ("/account/passkeys/<passkey_id>/remove", "account_passkey_remove", "account_remove",
     ["POST"]),
)
