"""Guardian consent pages (PIPL art. 31): the stop page a child under 14 sees when a
third-party platform asks for their data without a guardian's approval, and the
guardian's page listing their children's pending requests and past consents, where they
approve, refuse or withdraw (a withdrawal revokes the platform's tokens for the child)."""

from __future__ import annotations

from flask import redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from idp.audit import events
from idp.minors import APPROVED, PENDING, GuardianConsentError, GuardianConsents
from idp.oauth2.clients import RegisteredClient
from idp.web.context import WebContext

MAX_FIELD = 128


class GuardianViews:
    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx

    @property
    def consents(self) -> GuardianConsents:
        directory = self.ctx.provider.directory
        return GuardianConsents(directory.sessions, directory)

    # -- the child's side (called from the authorization flow) ---------------------------
    def blocks(self, person_id: str, client: RegisteredClient, scopes: list[str]) -> bool:
        """Whether a guardian's approval is missing for this third-party request."""
        if client.first_party:
            return False
        consents = self.consents
        return (consents.needs_guardian(person_id)
                and not consents.covers(person_id, client.client_id, scopes))

    def stop(self, person_id: str, client: RegisteredClient, scopes: list[str],
             lang: str) -> BaseResponse:
        """Record the request for the guardians and show the child why the flow stops."""
        if self.consents.request(person_id, client.client_id, scopes):
            self.ctx.audit(events.GUARDIAN_CONSENT_REQUESTED, person_id=person_id,
                           client_id=client.client_id, scopes=scopes)
        guardians = self.ctx.provider.directory.guardians_of(person_id)
        return self.ctx.render("guardian_required.html", lang, 403, client=client,
                               has_guardian=bool(guardians))

    # -- the guardian's page -------------------------------------------------------------
    def page(self) -> BaseResponse:
        """GET /guardians/consents"""
        browser = self.ctx.current_session()
        subject = self.ctx.subject(browser)
        lang = self.ctx.page_language(request.args.get("ui_locales"))
        if subject is None or browser is None:
            return redirect(url_for("idp.login", ui_locales=lang))
        return self._render(subject.person_id, browser.csrf_token, lang, done=None)

    def _render(self, guardian_id: str, csrf_token: str, lang: str, *, done: str | None,
                status: int = 200) -> BaseResponse:
        clients = self.ctx.provider.clients
        views = self.consents.for_guardian(guardian_id)
        rows = []
        for view in views:
            client = clients.find(view.client_id)
            rows.append({"view": view, "client_name": client.name if client else
                         view.client_id})
        children = self.ctx.provider.directory.minors_of(guardian_id)
        return self.ctx.render("guardian_consents.html", lang, status, rows=rows,
                               children=children, csrf_token=csrf_token, done=done,
                               PENDING=PENDING, APPROVED=APPROVED)

    def decide(self) -> BaseResponse:
        """POST /guardians/consents: approve, refuse or withdraw one request."""
        browser = self.ctx.current_session()
        lang = self.ctx.page_language(request.args.get("ui_locales"))
        if browser is None or not self.ctx.csrf_ok(browser):
            return self.ctx.error_page(lang, "csrf", None, 403)
        subject = self.ctx.subject(browser)
        if subject is None:
            return redirect(url_for("idp.login", ui_locales=lang), code=303)
        minor_id = request.form.get("minor_id", "")[:MAX_FIELD]
        client_id = request.form.get("client_id", "")[:MAX_FIELD]
        decision = request.form.get("decision", "")[:MAX_FIELD]
        # The scopes the page listed (its form always sends them).
        shown = (request.form["scopes"][:4096].split() if "scopes" in request.form
                 else None)
        try:
            status = self.consents.decide(subject.person_id, minor_id, client_id, decision,
                                          shown)
        except GuardianConsentError:
            return self._render(subject.person_id, browser.csrf_token, lang,
                                done="refused_action", status=400)
        event = {"approve": events.GUARDIAN_CONSENT_GIVEN,
                 "refuse": events.GUARDIAN_CONSENT_REFUSED,
                 "withdraw": events.GUARDIAN_CONSENT_WITHDRAWN}[decision]
        self.ctx.audit(event, person_id=minor_id, client_id=client_id,
                       guardian=subject.person_id)
        return self._render(subject.person_id, browser.csrf_token, lang, done=status)
