"""The end-session endpoint (OIDC RP-Initiated Logout 1.0) and its confirmation page.

A checked request whose ``id_token_hint`` names the current login session (same ``sid``
and ``sub``) ends it at once; otherwise a logged-in person is asked first (a CSRF-bound
form). Ending a session deletes it server-side, clears the cookie and, through the
session store's end listener, queues back-channel logout tokens; tokens already issued
are not revoked (relying parties are told, and decide). The person then goes back to the
registered ``post_logout_redirect_uri`` (with ``state``) or sees our "signed out" page.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from typing import Any

from authlib.common.urls import add_params_to_uri
from flask import redirect, request
from werkzeug.wrappers import Response as BaseResponse

from idp.audit import events
from idp.oauth2.server import Provider
from idp.oidc.rp_initiated_logout import EndSessionRequests, LogoutRequest, LogoutRequestError
from idp.web.context import WebContext
from idp.web.sessions import BrowserSession

log = logging.getLogger("edutrust.idp")

MAX_WAITING_LOGOUTS = 4  # confirmation pages one browser may have open at once


class LogoutViews:
    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx

    @property
    def provider(self) -> Provider:
        return self.ctx.provider

    def session_ended(self, sid: str, person_id: str) -> None:
        """The session store's end listener: notify clients over the back channel."""
        backchannel = self.provider.backchannel_logout
        if backchannel is not None:
            backchannel.session_ended(sid, person_id)

    # -- responses -----------------------------------------------------------------------
    def _clear_cookie(self, response: BaseResponse) -> BaseResponse:
        response.delete_cookie(self.ctx.cookie_name, path="/",
                               secure=self.provider.config.secure_cookies, httponly=True,
                               samesite="Lax")
        return response

    def _finished(self, redirect_uri: str | None, state: str | None, lang: str, *,
                  ended: bool) -> BaseResponse:
        if redirect_uri is not None:
            location = add_params_to_uri(redirect_uri, [("state", state)]) if state \
                else redirect_uri
            response: BaseResponse = redirect(location, code=303)
            response.headers["Cache-Control"] = "no-store"
        else:
            response = self.ctx.render("logged_out.html", lang, ended=ended)
        return self._clear_cookie(response) if ended else response

    def _end(self, browser: BrowserSession | None) -> None:
        if browser is not None:
            self.ctx.store.end(browser)
            if browser.person_id is not None:
                self.ctx.audit(events.LOGOUT, person_id=browser.person_id)

    # -- the endpoint --------------------------------------------------------------------
    def end_session(self) -> BaseResponse:
        """GET or POST /oauth2/logout (RP-Initiated Logout 1.0 section 2)."""
        values = request.args if request.method == "GET" else request.form
        params = {key: values[key] for key in values}
        lang = self.ctx.page_language(params.get("ui_locales"))
        try:
            checked = EndSessionRequests(self.provider.config, self.provider.signing,
                                         self.provider.clients.find).check(params)
        except LogoutRequestError as error:
            return self.ctx.error_page(lang, "logout", error.description)
        browser = self.ctx.current_session()
        if browser is None or not browser.logged_in:
            # Nothing to end here; the relying party still gets its person back.
            return self._finished(checked.post_logout_redirect_uri, checked.state, lang,
                                  ended=True)
        if self._hint_names(checked, browser):
            self._end(browser)
            return self._finished(checked.post_logout_redirect_uri, checked.state, lang,
                                  ended=True)
        return self._confirmation(checked, browser, lang)

    def _hint_names(self, checked: LogoutRequest, browser: BrowserSession) -> bool:
        if checked.hint is None or checked.client is None or browser.person_id is None:
            return False
        subject = self.provider.subjects.subject(checked.client, browser.person_id)
        return bool(checked.hint.get("sid") == browser.sid
                    and checked.hint.get("sub") == subject)

    def _confirmation(self, checked: LogoutRequest, browser: BrowserSession,
                      lang: str) -> BaseResponse:
        waiting: dict[str, Any] = browser.data.setdefault("logout", {})
        while len(waiting) >= MAX_WAITING_LOGOUTS:
            waiting.pop(min(waiting, key=lambda k: waiting[k].get("created_at", 0)))
        logout_id = secrets.token_urlsafe(16)
        waiting[logout_id] = {
            "post_logout_redirect_uri": checked.post_logout_redirect_uri,
            "state": checked.state, "lang": lang,
            "created_at": dt.datetime.now(dt.UTC).timestamp()}
        self.ctx.store.save(browser)
        client_name = checked.client.name if checked.client is not None else None
        return self.ctx.render("logout.html", lang, csrf_token=browser.csrf_token,
                               logout_id=logout_id, client_name=client_name)

    def confirm(self) -> BaseResponse:
        """POST /oauth2/logout/confirm: the person's answer on the confirmation page."""
        browser = self.ctx.current_session()
        logout_id = request.form.get("logout_id", "")
        waiting = browser.data.get("logout", {}) if browser is not None else {}
        pending = waiting.get(logout_id) if isinstance(waiting, dict) else None
        lang = (pending or {}).get("lang") or self.ctx.page_language(None)
        if browser is None or not self.ctx.csrf_ok(browser):
            return self.ctx.error_page(lang, "csrf", None, 403)
        if pending is None:
            return self.ctx.error_page(lang, "interaction_expired", None)
        redirect_uri, state = pending.get("post_logout_redirect_uri"), pending.get("state")
        if request.form.get("decision") != "logout":
            waiting.pop(logout_id, None)
            self.ctx.store.save(browser)
            if redirect_uri:
                return self._finished(redirect_uri, state, lang, ended=False)
            return self.ctx.render("logged_out.html", lang, ended=False)
        self._end(browser)
        return self._finished(redirect_uri, state, lang, ended=True)
