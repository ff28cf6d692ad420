"""The login page: username and password against the directory, one error message for
an unknown user and a wrong password alike, a CSRF token bound to the login session,
and a fresh session (new cookie, new CSRF token) once the password is right."""

from __future__ import annotations

from typing import Any

from flask import redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from idp.oauth2.server import Provider
from idp.web.context import WebContext

MAX_FIELD = 256


class LoginViews:
    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx

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
                                   client_name=client.name if client else None, failed=failed)
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
        if not self.ctx.csrf_ok(browser):
            lang = (pending or {}).get("lang") or self.ctx.page_language(None)
            return self.ctx.error_page(lang, "csrf", None, 403)
        username = request.form.get("username", "")[:MAX_FIELD]
        password = request.form.get("password", "")[:MAX_FIELD]
        person = (self.provider.directory.authenticate(username, password)
                  if username and password else None)
        if person is None:
            return self._form(interaction, pending, username=username, failed=True)
        fresh = self.ctx.store.login(browser, person.id, ["pwd"])
        if pending is not None:
            target = url_for("idp.resume", interaction=interaction)
        else:
            target = url_for("idp.login_done")
        response = redirect(target, code=303)
        return self.ctx.set_cookie(response, fresh)

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
