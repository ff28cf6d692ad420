"""The authorization endpoint (RFC 6749 3.1, OIDC Core 3.1.2) and the consent step.

A request is validated by Authlib's grant first: until the client and its exact
redirect URI are known good, errors are shown on our own error page and never sent
anywhere (no open redirect). After that, errors go back to the client with ``state`` and
``iss`` (RFC 9207). ``prompt`` (none, login, consent), ``max_age``, ``login_hint``,
``claims`` (OIDC Core 5.5), ``acr_values`` and ``resource`` (RFC 8707) are honoured; a
request waiting for login or consent is kept in the login session and re-validated from
scratch when the person comes back.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import OAuth2Request
from authlib.oauth2.rfc6749.util import scope_to_list
from flask import redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from idp.audit import events
from idp.mfa.acr import level_of, satisfies
from idp.oauth2.clients import RegisteredClient
from idp.oauth2.rfc8707 import InvalidTargetError, joined, split
from idp.oauth2.rfc9207 import with_issuer
from idp.oauth2.server import (
    EduTrustAuthorizationServer,
    Provider,
    stored_authorization_request,
)
from idp.oauth2.tokens import Subject
from idp.oidc.acr import AcrDecision, request_satisfied, requested_acr, session_acr
from idp.oidc.claims_parameter import InvalidClaimsRequest, parse_claims_request
from idp.web.context import WebContext
from idp.web.guardians import GuardianViews
from idp.web.sessions import BrowserSession

MAX_PARAM_LENGTH = 4096


class AuthorizationViews:
    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx
        self.guardians = GuardianViews(ctx)

    @property
    def provider(self) -> Provider:
        return self.ctx.provider

    @property
    def server(self) -> EduTrustAuthorizationServer:
        return self.ctx.provider.authorization_server

    # -- helpers -------------------------------------------------------------------------
    def _to_client(self, location: str) -> BaseResponse:
        response = redirect(with_issuer(location, self.provider.config.issuer), code=302)
        response.headers["Cache-Control"] = "no-store"
        return response

    def _client_error(self, redirect_uri: str, state: str | None, error: str,
                      description: str) -> BaseResponse:
        params = [("error", error), ("error_description", description)]
        if state:
            params.append(("state", state))
        return self._to_client(add_params_to_uri(redirect_uri, params))

    def _oauth_error(self, error: OAuth2Error, lang: str) -> BaseResponse:
        if error.redirect_uri:
            _status, _body, headers = error()
            return self._to_client(dict(headers)["Location"])
        return self.ctx.error_page(lang, error.error or "invalid_request", error.description)

    def _finish(self, response: BaseResponse, browser: BrowserSession | None) -> BaseResponse:
        if browser is not None:
            self.ctx.set_cookie(response, browser)
        return response

    # -- the flow ------------------------------------------------------------------------
    def authorize(self) -> BaseResponse:
        """GET or POST /oauth2/authorize: a fresh authorization request."""
        values = request.args if request.method == "GET" else request.form
        params = {key: values[key] for key in values}
        if "resource" in values:  # RFC 8707: repeatable
            params["resource"] = joined(values.getlist("resource"))
        lang = self.ctx.page_language(params.get("ui_locales"))
        if any(len(v) > MAX_PARAM_LENGTH for v in params.values()):
            return self.ctx.error_page(lang, "invalid_request", "A parameter is too long.")
        if any(len(values.getlist(key)) > 1 for key in values if key != "resource"):
            # RFC 6749 3.1: no parameter twice (which one would count is ambiguous).
            return self.ctx.error_page(lang, "invalid_request", "A parameter is repeated.")
        if "request_uri" in params:
            return self._pushed(params, lang)
        return self._process(params, self._stored(params), lang, login_done=False)

    def _pushed(self, params: dict[str, str], lang: str) -> BaseResponse:
        """A request pushed before (RFC 9126 4): only ``client_id`` and ``request_uri``
        count; the stored parameters replace everything else. The ``request_uri`` stays
        among them, marking the request as pushed when it comes back after login."""
        request_uri = params["request_uri"]
        pushed = self.provider.pushed_requests.take(params.get("client_id", ""), request_uri)
        if pushed is None:
            return self.ctx.error_page(lang, "invalid_request_uri",
                                       "The request_uri is unknown, used or expired.")
        params = {**pushed, "request_uri": request_uri}
        lang = self.ctx.page_language(params.get("ui_locales"))
        return self._process(params, self._stored(params), lang, login_done=False)

    def resume(self) -> BaseResponse:
        """GET /oauth2/authorize/resume?interaction=...: back from the login page."""
        browser = self.ctx.current_session()
        interaction = request.args.get("interaction", "")
        pending = browser.pending().get(interaction) if browser is not None else None
        lang = self.ctx.page_language(pending["params"].get("ui_locales") if pending else None)
        if browser is None or pending is None:
            return self.ctx.error_page(lang, "interaction_expired", None)
        browser.pending().pop(interaction, None)
        self.ctx.store.save(browser)
        started = dt.datetime.fromtimestamp(pending["created_at"], dt.UTC)
        login_done = browser.auth_time is not None and browser.auth_time >= started
        params = dict(pending["params"])
        return self._process(params, self._stored(params), lang, login_done=login_done)

    def consent(self) -> BaseResponse:
        """POST /oauth2/consent: the person's decision on the consent page."""
        browser = self.ctx.current_session()
        interaction = request.form.get("interaction", "")
        pending = browser.pending().get(interaction) if browser is not None else None
        lang = self.ctx.page_language(pending["params"].get("ui_locales") if pending else None)
        if browser is None or not self.ctx.csrf_ok(browser):
            return self.ctx.error_page(lang, "csrf", None, 403)
        subject = self.ctx.subject(browser)
        if pending is None or subject is None or pending.get("person_id") != subject.person_id:
            return self.ctx.error_page(lang, "interaction_expired", None)
        browser.pending().pop(interaction, None)
        self.ctx.store.save(browser)
        params = dict(pending["params"])
        oauth_request = self._stored(params)
        try:
            grant = self.server.get_consent_grant(request=oauth_request, end_user=subject)
        except OAuth2Error as error:
            return self._oauth_error(error, lang)
        if request.form.get("decision") != "allow":
            self.ctx.audit(events.CONSENT_DENIED, person_id=subject.person_id,
                           client_id=grant.client.client_id)
            return self._client_error(grant.redirect_uri, params.get("state"), "access_denied",
                                      "The person declined the request.")
        client: RegisteredClient = grant.client
        scopes = self._consent_scopes(params, client, grant)
        self.provider.consents.grant(subject.person_id, client.client_id, scopes)
        self.ctx.audit(events.CONSENT_GIVEN, person_id=subject.person_id,
                       client_id=client.client_id, scopes=scopes)
        return self._issue(oauth_request, grant,
                           dataclasses.replace(subject,
                                               acr=self.acr_decision(params, subject).acr))

    def _stored(self, params: dict[str, str]) -> OAuth2Request:
        return self.stored_request(self.provider, params)

    @staticmethod
    def stored_request(provider: Provider, params: dict[str, str]) -> OAuth2Request:
        return stored_authorization_request(
            provider.config.endpoint(provider.paths.authorization), params)

    def _process(self, params: dict[str, str], oauth_request: OAuth2Request, lang: str, *,
                 login_done: bool) -> BaseResponse:
        browser = self.ctx.current_session()
        subject = self.ctx.subject(browser)
        try:
            grant = self.server.get_consent_grant(request=oauth_request, end_user=subject)
        except OAuth2Error as error:
            return self._oauth_error(error, lang)
        # From here on the client and its redirect URI are known good.
        redirect_uri: str = grant.redirect_uri
        client: RegisteredClient = grant.client
        state = params.get("state")
        refusal = (self.unsupported(params, client, pushed="request_uri" in params)
                   or self.invalid_extensions(self.provider, params))
        if refusal is not None:
            return self._client_error(redirect_uri, state, *refusal)
        prompts = set(params.get("prompt", "").split())
        max_age = _max_age(params.get("max_age"))
        if max_age == -1:
            return self._client_error(redirect_uri, state, "invalid_request",
                                      "'max_age' must be a non-negative integer.")
        if self._needs_login(subject, prompts, max_age, login_done):
            if "none" in prompts:
                return self._client_error(redirect_uri, state, "login_required",
                                          "The person is not logged in.")
            browser = self.ctx.session_or_new()
            interaction = browser.add_pending(params, lang=lang,
                                              acr=self.step_up_level(params))
            self.ctx.store.save(browser)
            return self._finish(redirect(url_for("idp.login", interaction=interaction)),
                                browser)
        assert subject is not None and browser is not None
        level = self.step_up_level(params)
        if level is not None and not login_done and not satisfies(subject.amr, level):
            # Step-up (docs/mfa.md): only the second step, then back here.
            if "none" in prompts:
                return self._client_error(redirect_uri, state, "interaction_required",
                                          "A stronger login is needed.")
            interaction = browser.add_pending(params, lang=lang, acr=level)
            self.ctx.store.save(browser)
            return self._finish(redirect(url_for("idp.mfa_step_up",
                                                 interaction=interaction)), browser)
        decision = self.acr_decision(params, subject)
        if not decision.satisfied:
            return self._client_error(redirect_uri, state, "unmet_authentication_requirements",
                                      "The login does not satisfy the requested 'acr'.")
        subject = dataclasses.replace(subject, acr=decision.acr)
        scopes = self._consent_scopes(params, client, grant)
        if self.guardians.blocks(subject.person_id, client, scopes):   # PIPL art. 31
            if "none" in prompts:
                return self._client_error(redirect_uri, state, "consent_required",
                                          "A guardian must approve this client first.")
            return self.guardians.stop(subject.person_id, client, scopes, lang)
        if not client.first_party and ("consent" in prompts or not self.provider.consents
                                       .covers(subject.person_id, client.client_id, scopes)):
            if "none" in prompts:
                return self._client_error(redirect_uri, state, "consent_required",
                                          "The person has not consented to this client.")
            interaction = browser.add_pending(params, lang=lang, person_id=subject.person_id)
            self.ctx.store.save(browser)
            person = self.provider.directory.person(subject.person_id)
            return self.ctx.render("consent.html", lang, client=client, scopes=scopes,
                                   interaction=interaction, csrf_token=browser.csrf_token,
                                   person_name=person.display_name if person else "")
        return self._issue(oauth_request, grant, subject)

    def _issue(self, oauth_request: OAuth2Request, grant: Any, subject: Subject) -> BaseResponse:
        response = self.server.create_authorization_response(
            request=oauth_request, grant_user=subject, grant=grant)
        location = response.headers.get("Location")
        if location:
            return self._to_client(location)
        return response  # type: ignore[no-any-return]

    @staticmethod
    def _consent_scopes(params: dict[str, str], client: RegisteredClient,
                        grant: Any) -> list[str]:
        """The requested scopes plus the scope groups of claims asked for individually
        (``claims``), which the person must consent to as well."""
        scopes = scope_to_list(grant.request.scope) or []
        groups = parse_claims_request(params.get("claims")).scope_groups(client.scopes)
        return list(dict.fromkeys([*scopes, *groups]))

    @staticmethod
    def acr_decision(params: dict[str, str], subject: Subject) -> AcrDecision:
        """Whether the login satisfies the ``acr`` the request asked for, through an
        essential ``claims`` member or ``acr_values`` (``idp.oidc.acr``). Voluntary
        ``acr_values`` that are not met leave the session's own acr."""
        claims = parse_claims_request(params.get("claims"))
        current = subject.acr or session_acr(subject.amr)
        wanted = requested_acr(params.get("acr_values"), claims.acr())
        decision = request_satisfied(current, wanted)
        if not decision.satisfied and not (wanted is not None and wanted.essential):
            return AcrDecision(True, current)
        return decision

    @staticmethod
    def step_up_level(params: dict[str, str]) -> str | None:
        """The acr level a login must reach for this request: ``acr_values`` and an
        ``acr`` in ``claims`` are both honoured by stepping up (the weakest known value
        listed; ``None`` when none is known)."""
        claims = parse_claims_request(params.get("claims"))
        return level_of(requested_acr(params.get("acr_values"), claims.acr()))

    @staticmethod
    def invalid_extensions(provider: Provider,
                           params: dict[str, str]) -> tuple[str, str] | None:
        """Why the ``claims`` (OIDC Core 5.5) or ``resource`` (RFC 8707) parameter of a
        request is refused, after its client and redirect URI were validated."""
        try:
            parse_claims_request(params.get("claims"))
        except InvalidClaimsRequest as error:
            return "invalid_request", str(error)
        if "resource" in params:
            try:
                if not params["resource"]:
                    raise InvalidTargetError(description="'resource' is empty.")
                provider.resource_servers.check(split(params["resource"]))
            except InvalidTargetError as error:
                return "invalid_target", error.description or "invalid resource"
        return None

    @staticmethod
    def unsupported(params: dict[str, str], client: RegisteredClient, *,
                    pushed: bool) -> tuple[str, str] | None:
        """Why a request is refused after its client and redirect URI were validated
        (``pushed``: it came through PAR, ``request_uri`` resolved by us)."""
        if "request" in params:
            return "request_not_supported", "Request objects are not supported."
        if params.get("response_mode", "query") != "query":
            return "invalid_request", "Only response_mode=query is supported."
        if client.require_par and not pushed:
            return "invalid_request", "This client must use pushed authorization requests."
        prompts = params.get("prompt", "").split()
        if "none" in prompts and len(prompts) > 1:
            return "invalid_request", "prompt=none cannot be combined with other values."
        return None

    @staticmethod
    def _needs_login(subject: Subject | None, prompts: set[str], max_age: int | None,
                     login_done: bool) -> bool:
        if subject is None:
            return True
        if login_done:
            return False
        if "login" in prompts:
            return True
        if max_age is not None:
            age = dt.datetime.now(dt.UTC) - subject.auth_time
            return age.total_seconds() > max_age
        return False


def _max_age(raw: str | None) -> int | None:
    """``max_age`` as seconds, ``None`` when absent, ``-1`` when malformed."""
    if raw is None or raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        return -1
    return int(raw)
