"""Password reset pages: ``/password/reset-links``, where a logged-in school
administrator issues a one-time link for one of their school's people, and
``/password/reset/{token}``, where the person sets a new password
(``idp.password_reset``). Forms are CSRF-bound to a login session; an unknown, used or
expired link gets one and the same page. Once the new password is set, every login
session of the person ends (their tokens were revoked in the same transaction as the
password change)."""

from __future__ import annotations

from flask import redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from idp.audit import events
from idp.directory import WeakPassword
from idp.password_reset import PasswordResets, ResetError
from idp.web.context import WebContext

MAX_FIELD = 256


class PasswordResetViews:
    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx

    @property
    def resets(self) -> PasswordResets:
        return PasswordResets(self.ctx.provider.directory.sessions)

    def _form(self, token: str, lang: str, *, problems: list[str],
              status: int = 200) -> BaseResponse:
        browser = self.ctx.session_or_new()
        response = self.ctx.render("password_reset.html", lang, status, token=token,
                                   csrf_token=browser.csrf_token, problems=problems)
        return self.ctx.set_cookie(response, browser)

    def _invalid(self, lang: str) -> BaseResponse:
        return self.ctx.render("password_reset_invalid.html", lang, 404)

    def form(self, token: str) -> BaseResponse:
        """GET /password/reset/<token>"""
        lang = self.ctx.page_language(request.args.get("ui_locales"))
        if self.resets.person_for(token) is None:
            return self._invalid(lang)
        return self._form(token, lang, problems=[])

    def submit(self, token: str) -> BaseResponse:
        """POST /password/reset/<token>"""
        lang = self.ctx.page_language(request.args.get("ui_locales"))
        browser = self.ctx.current_session()
        if not self.ctx.csrf_ok(browser):
            return self.ctx.error_page(lang, "csrf", None, 403)
        password = request.form.get("password", "")[:MAX_FIELD + 1]
        repeated = request.form.get("password_again", "")[:MAX_FIELD + 1]
        if password != repeated:
            if self.resets.person_for(token) is None:
                return self._invalid(lang)
            return self._form(token, lang, problems=["reset.mismatch"], status=400)
        try:
            person_id, admin_id = self.resets.complete(token, password)
        except ResetError:
            return self._invalid(lang)
        except WeakPassword as weak:
            return self._form(token, lang, problems=weak.problems, status=400)
        ended = self.ctx.store.end_sessions_of(person_id)
        self.ctx.audit(events.PASSWORD_RESET_COMPLETED, person_id=person_id,
                       issued_by=admin_id, sessions_ended=ended)
        return self.ctx.render("password_reset_done.html", lang)

    # -- the administrator's page --------------------------------------------------------
    def issue_form(self) -> BaseResponse:
        """GET /password/reset-links"""
        browser = self.ctx.current_session()
        lang = self.ctx.page_language(request.args.get("ui_locales"))
        if self.ctx.subject(browser) is None or browser is None:
            return redirect(url_for("idp.login", ui_locales=lang))
        return self.ctx.render("password_reset_issue.html", lang,
                               csrf_token=browser.csrf_token, issued=None, failed=False,
                               username="")

    def issue(self) -> BaseResponse:
        """POST /password/reset-links: ``username`` of the person to reset."""
        browser = self.ctx.current_session()
        lang = self.ctx.page_language(request.args.get("ui_locales"))
        if browser is None or not self.ctx.csrf_ok(browser):
            return self.ctx.error_page(lang, "csrf", None, 403)
        subject = self.ctx.subject(browser)
        if subject is None:
            return redirect(url_for("idp.login", ui_locales=lang), code=303)
        username = request.form.get("username", "")[:MAX_FIELD]
        person = self.ctx.provider.directory.find_by_username(username) if username else None
        try:
            if person is None:
                raise ResetError("reset.not_administrator")
            issued = self.resets.issue(subject.person_id, person.id)
        except ResetError:
            # One answer for an unknown person and one outside the administrator's
            # school, so the page does not list other schools' usernames.
            return self.ctx.render("password_reset_issue.html", lang, 400,
                                   csrf_token=browser.csrf_token, issued=None, failed=True,
                                   username=username)
        self.ctx.audit(events.PASSWORD_RESET_ISSUED, person_id=person.id,
                       by=subject.person_id)
        url = f"{self.ctx.provider.config.issuer}/password/reset/{issued.token}"
        return self.ctx.render("password_reset_issue.html", lang,
                               csrf_token=browser.csrf_token, failed=False,
                               username=person.username,
                               issued={"url": url, "name": person.display_name,
                                       "expires": issued.expires_at.strftime(
                                           "%Y-%m-%d %H:%M UTC")})
