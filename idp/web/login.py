"""The login page: username and password against the directory, one error message for
an unknown user and a wrong password alike, a CSRF token bound to the login session,
brute-force throttling per account and per address (``idp.mfa.throttle``), then the
second step (``idp.web.mfa.SecondStep``), which ends in a fresh session (new cookie, new
CSRF token)."""

from __future__ import annotations

from typing import Any

from flask import redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from idp.audit import events
from idp.mfa.throttle import account_key
from idp.oauth2.server import Provider
from idp.web.context import WebContext
from idp.web.mfa import SecondStep

MAX_FIELD = 256


class LoginViews:
    def __init__(self, ctx: WebContext, second_step: SecondStep) -> None:
        self.ctx = ctx
        self.second_step = second_step

    @property
    def provider(self) -> Provider:
        return self.ctx.provider

    def _pending(self, interaction: str) -> dict[str, Any] | None:
        browser = self.ctx.current_session()
        if browser is None or not interaction:
            return None
        found: dict[str, Any] | None = browser.pending().get(interaction)
        return found

    def _form(self, interaction: str, pending: dict[str, Any] | None, *, username: str,
              failed: bool) -> BaseResponse:
        browser = self.ctx.session_or_new()
        params = pending["params"] if pending else {}
        lang = pending.get("lang") if pending else None
        lang = lang or self.ctx.page_language(request.args.get("ui_locales"))
        client = self.provider.clients.find(params.get("client_id")) if params else None
        response = self.ctx.render("login.html", lang, 200, csrf_token=browser.csrf_token,
                                   interaction=interaction if pending else "",
                                   username=username or params.get("login_hint", ""),
                                   client_name=client.name if client else None, failed=failed,
                                   login_options=self.ctx.login_options)
        return self.ctx.set_cookie(response, browser)

    def form(self) -> BaseResponse:
        """GET /login"""
        interaction = request.args.get("interaction", "")
        return self._form(interaction, self._pending(interaction), username="", failed=False)

    def submit(self) -> BaseResponse:
        """POST /login"""
        browser = self.ctx.current_session()
        interaction = request.form.get("interaction", "")
        pending = self._pending(interaction)
        lang = (pending or {}).get("lang") or self.ctx.page_language(None)
        if browser is None or not self.ctx.csrf_ok(browser):
            return self.ctx.error_page(lang, "csrf", None, 403)
        username = request.form.get("username", "")[:MAX_FIELD]
        password = request.form.get("password", "")[:MAX_FIELD]
        # Keyed by the name typed, existing or not: throttling reveals no accounts.
        account, address = account_key(username), self.ctx.client_address()
        throttle = self.ctx.mfa.throttle
        verdict = throttle.check(account, address)
        if not verdict.allowed:
            return self.second_step.refused(
                lang, verdict, back=url_for("idp.login", interaction=interaction)
                if pending else url_for("idp.login"))
        person = (self.provider.directory.authenticate(username, password)
                  if username and password else None)
        client_id = pending["params"].get("client_id") if pending else None
        if person is None:
            known = self.provider.directory.find_by_username(username) if username else None
            self.ctx.audit(events.LOGIN_FAILED, person_id=known.id if known else None,
                           client_id=client_id, reason="bad_credentials")
            verdict = throttle.failed(account, address)
            if verdict.locked:
                self.ctx.audit(events.ACCOUNT_LOCKED, person_id=known.id if known else None)
                return self.second_step.refused(lang, verdict)
            return self._form(interaction, pending, username=username, failed=True)
        self.ctx.audit(events.LOGIN_SUCCEEDED, person_id=person.id, client_id=client_id,
                       method="pwd")
        return self.second_step.first_factor_passed(browser, person.id, ["pwd"], interaction,
                                                    account=account, lang=lang)

    def done(self) -> BaseResponse:
        """GET /login/done: where a login that no application asked for ends."""
        browser = self.ctx.current_session()
        subject = self.ctx.subject(browser)
        lang = self.ctx.page_language(request.args.get("ui_locales"))
        if subject is None:
            return redirect(url_for("idp.login"))
        person = self.provider.directory.person(subject.person_id)
        return self.ctx.render("done.html", lang, person_name=person.display_name if person
                               else "")
