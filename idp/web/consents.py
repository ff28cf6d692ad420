"""``/account/consents``: the platforms a logged-in person has allowed to receive their
data, and withdrawing one (which revokes that platform's tokens at once)."""

from __future__ import annotations

from flask import redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from idp.audit import events
from idp.consents import PersonConsents
from idp.web.context import WebContext

MAX_FIELD = 128


class ConsentViews:
    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx

    @property
    def consents(self) -> PersonConsents:
        return PersonConsents(self.ctx.provider.directory.sessions)

    def _render(self, person_id: str, csrf_token: str, lang: str, *, done: str | None,
                status: int = 200) -> BaseResponse:
        clients = self.ctx.provider.clients
        rows = []
        for consent in self.consents.of(person_id):
            client = clients.find(consent.client_id)
            rows.append({"client_id": consent.client_id, "scopes": consent.scopes,
                         "name": client.name if client else consent.client_id,
                         "granted": consent.granted_at.strftime("%Y-%m-%d")})
        return self.ctx.render("account_consents.html", lang, status, rows=rows,
                               csrf_token=csrf_token, done=done)

    def page(self) -> BaseResponse:
        """GET /account/consents"""
        browser = self.ctx.current_session()
        subject = self.ctx.subject(browser)
        lang = self.ctx.page_language(request.args.get("ui_locales"))
        if subject is None or browser is None:
            return redirect(url_for("idp.login", ui_locales=lang))
        return self._render(subject.person_id, browser.csrf_token, lang, done=None)

    def withdraw(self) -> BaseResponse:
        """POST /account/consents: form ``csrf_token``, ``client_id``."""
        browser = self.ctx.current_session()
        lang = self.ctx.page_language(request.args.get("ui_locales"))
        if browser is None or not self.ctx.csrf_ok(browser):
            return self.ctx.error_page(lang, "csrf", None, 403)
        subject = self.ctx.subject(browser)
        if subject is None:
            return redirect(url_for("idp.login", ui_locales=lang), code=303)
        client_id = request.form.get("client_id", "")[:MAX_FIELD]
        if not self.consents.withdraw(subject.person_id, client_id):
            return self._render(subject.person_id, browser.csrf_token, lang,
                                done="unknown", status=400)
        self.ctx.audit(events.CONSENT_WITHDRAWN, person_id=subject.person_id,
                       client_id=client_id)
        return self._render(subject.person_id, browser.csrf_token, lang, done="withdrawn")
