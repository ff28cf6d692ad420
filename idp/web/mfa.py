"""The login's second step, guided enrollment, step-up and the account security page.

After a first factor (password, or a passkey signing in username-less) the browser's
session stays anonymous; who passed what waits in ``data["partial_login"]``
(``PartialLogin``) until the second step completes, then ``SessionStore.login`` replaces
the session. ``SecondStep`` decides what comes next from the person's factors
(``ctx.factors``), their organisation's policy and the level the client asked for, so a
new factor only registers itself (docs/mfa.md). Code attempts share the account's
brute-force throttle with passwords.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from flask import redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from idp.audit import events
from idp.mfa import totp as totp_codes
from idp.mfa.acr import ACR_MFA, ACR_PHR, combine_amr, satisfies, stronger
from idp.mfa.factors import RECOVERY, TOTP, FactorType
from idp.mfa.throttle import Verdict, account_key
from idp.passwords import verify_password
from idp.web.context import WebContext
from idp.web.sessions import BrowserSession

PARTIAL = "partial_login"
PARTIAL_TTL = 600  # seconds a half-finished login may wait for its second step
MAX_CODE = 64

# What ``SecondStep.next_step`` may answer.
COMPLETE, CHALLENGE, ENROLL, CANNOT = "complete", "challenge", "enroll", "cannot"


@dataclass
class PartialLogin:
    """A login that passed its first factor and waits for a second."""

    person_id: str
    amr: list[str]
    # The acr level the login must reach (policy and client request), None: any.
    need: str | None
    # The authorization request waiting for this login ("" for none).
    interaction: str
    # The throttle's name for the account (idp.mfa.throttle.account_key).
    account: str
    lang: str
    started: float = field(default_factory=time.time)
    # Names of the factors verified in this login so far.
    used: list[str] = field(default_factory=list)
    # A step-up of the browser's logged-in session (it keeps its sid) rather than a login.
    step_up: bool = False

    @classmethod
    def load(cls, data: Any) -> PartialLogin | None:
        if not isinstance(data, dict):
            return None
        try:
            partial = cls(**data)
        except TypeError:
            return None
        if partial.started + PARTIAL_TTL < time.time():
            return None
        return partial


class SecondStep:
    """The login flow after a first factor; also what other factors' views call."""

    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx

    # -- state ---------------------------------------------------------------------------
    def partial(self, browser: BrowserSession | None) -> PartialLogin | None:
        """The login waiting for a second factor in this browser, if any."""
        if browser is None:
            return None
        return PartialLogin.load(browser.data.get(PARTIAL))

    def save(self, browser: BrowserSession, partial: PartialLogin | None) -> None:
        if partial is None:
            browser.data.pop(PARTIAL, None)
        else:
            browser.data[PARTIAL] = asdict(partial)
        self.ctx.store.save(browser)

    def _client_id(self, browser: BrowserSession, interaction: str) -> str | None:
        pending = browser.pending().get(interaction) if interaction else None
        found = pending["params"].get("client_id") if pending else None
        return found if isinstance(found, str) else None

    # -- entry points --------------------------------------------------------------------
    def first_factor_passed(self, browser: BrowserSession, person_id: str, amr: list[str],
                            interaction: str, *, account: str | None = None,
                            lang: str | None = None, step_up: bool = False) -> BaseResponse:
        """A first factor succeeded (``amr`` says which): start the second step, or
        complete the login when nothing more is needed. ``account`` is the throttle key
        (``account_key`` of the username typed); computed from the directory if absent."""
        pending = browser.pending().get(interaction) if interaction else None
        if pending is None:
            interaction = ""
        lang = lang or (pending or {}).get("lang") or self.ctx.page_language(None)
        need = stronger(self.ctx.mfa.policy.required_acr(person_id),
                        (pending or {}).get("acr"))
        if account is None:
            person = self.ctx.provider.directory.person(person_id)
            account = account_key(person.username if person else person_id)
        # combine_amr adds "mfa" when the first factor was multi-factor by itself
        # (a passkey with user verification: possession and inherence).
        partial = PartialLogin(person_id=person_id, amr=combine_amr(amr, []), need=need,
                               interaction=interaction, account=account, lang=lang,
                               step_up=step_up)
        return self.proceed(browser, partial)

    def factor_passed(self, browser: BrowserSession, factor: str,
                      amr: tuple[str, ...] | list[str]) -> BaseResponse:
        """A second factor named ``factor`` was verified in this browser's waiting login:
        add its ``amr`` and go on (complete, another factor, or enrollment)."""
        partial = self.partial(browser)
        if partial is None:
            return self.ctx.error_page(self.ctx.page_language(None), "interaction_expired",
                                       None)
        partial.amr = combine_amr(partial.amr, list(amr))
        if factor not in partial.used:
            partial.used.append(factor)
        self.ctx.audit(events.MFA_SUCCEEDED, person_id=partial.person_id,
                       client_id=self._client_id(browser, partial.interaction),
                       method=factor)
        return self.proceed(browser, partial)

    def factor_failed(self, browser: BrowserSession, factor: str) -> BaseResponse | None:
        """A second factor failed: count it against the account. Returns the page to
        show when the account is now locked (the waiting login is dropped), else None."""
        partial = self.partial(browser)
        if partial is None:
            return self.ctx.error_page(self.ctx.page_language(None), "interaction_expired",
                                       None)
        self.ctx.audit(events.MFA_FAILED, person_id=partial.person_id,
                       client_id=self._client_id(browser, partial.interaction),
                       method=factor)
        verdict = self.ctx.mfa.throttle.failed(partial.account, self.ctx.client_address())
        if verdict.locked:
            self.ctx.audit(events.ACCOUNT_LOCKED, person_id=partial.person_id)
            self.save(browser, None)
            return self.refused(partial.lang, verdict)
        return None

    def throttled(self, browser: BrowserSession) -> BaseResponse | None:
        """The page to show instead of checking a code now (locked or too fast)."""
        partial = self.partial(browser)
        if partial is None:
            return None
        verdict = self.ctx.mfa.throttle.check(partial.account, self.ctx.client_address())
        return None if verdict.allowed else self.refused(partial.lang, verdict,
                                                          back=request.path)

    def refused(self, lang: str, verdict: Verdict, back: str | None = None) -> BaseResponse:
        """The "too many attempts" page: the same for every account, existing or not;
        ``back`` is where to try again once a short wait is over (never when locked)."""
        minutes = max(1, (verdict.retry_after + 59) // 60)
        response = self.ctx.render(
            "mfa_message.html", lang, 429, title_key="idp.locked.title",
            message_key="idp.locked.locked" if verdict.locked else "idp.locked.wait",
            values={"minutes": minutes, "seconds": verdict.retry_after},
            continue_url=None if verdict.locked else back)
        response.headers["Retry-After"] = str(verdict.retry_after)
        return response

    # -- the decision --------------------------------------------------------------------
    def next_step(self, partial: PartialLogin) -> tuple[str, list[FactorType]]:
        """What the waiting login needs now, and the factors that step may use."""
        have = self.ctx.factors.of(partial.person_id)
        unused = [f for f in have if f.name not in partial.used]
        real = [f for f in have if not f.fallback]
        if satisfies(partial.amr, partial.need):
            # Someone with a second factor is asked for it even when nothing demands it,
            # unless this login already used one (or started multi-factor).
            if partial.used or satisfies(partial.amr, ACR_MFA) or not real:
                return COMPLETE, []
            return CHALLENGE, unused
        phr = partial.need == ACR_PHR
        if not partial.used and unused:
            return CHALLENGE, unused  # prove an existing factor before anything else
        useful = [f for f in unused if f.phishing_resistant or not phr]
        if useful:
            return CHALLENGE, useful
        enroll = [f for f in self.ctx.factors.enrollable(phr) if f not in real]
        return (ENROLL, enroll) if enroll else (CANNOT, [])

    def proceed(self, browser: BrowserSession, partial: PartialLogin) -> BaseResponse:
        step, factors = self.next_step(partial)
        if step == COMPLETE:
            return self._complete(browser, partial)
        self.save(browser, partial)
        if step == CHALLENGE:
            if len([f for f in factors if not f.fallback]) == 1:
                only = next(f for f in factors if not f.fallback)
                return redirect(url_for(only.challenge_endpoint,
                                        interaction=partial.interaction), code=303)
            return redirect(url_for("idp.mfa_choose"), code=303)
        if step == ENROLL:
            if len(factors) == 1 and factors[0].enroll_endpoint:
                return redirect(url_for(factors[0].enroll_endpoint,
                                        interaction=partial.interaction), code=303)
            return redirect(url_for("idp.mfa_enroll"), code=303)
        self.save(browser, None)
        return self.ctx.render("mfa_message.html", partial.lang, 403,
                               title_key="idp.mfa.cannot.title",
                               message_key="idp.mfa.cannot.body", values={},
                               continue_url=None)

    def _complete(self, browser: BrowserSession, partial: PartialLogin) -> BaseResponse:
        fresh = None
        if partial.step_up and browser.logged_in and browser.person_id == partial.person_id:
            try:  # step-up: same login session, stronger
                fresh = self.ctx.store.elevate(browser, partial.amr)
            except LookupError:
                fresh = None
        if fresh is None:
            fresh = self.ctx.store.login(browser, partial.person_id, partial.amr)
        self.ctx.mfa.throttle.succeeded(partial.account)
        if partial.interaction and partial.interaction in fresh.pending():
            target = url_for("idp.resume", interaction=partial.interaction)
        else:
            target = url_for("idp.login_done")
        notices = self.ctx.mfa.notices.recent(
            partial.person_id, unseen_only=True,
            before=dt.datetime.fromtimestamp(partial.started, dt.UTC))
        if notices:
            self.ctx.mfa.notices.mark_seen(partial.person_id, [n.id for n in notices])
            response: BaseResponse = self.ctx.render("mfa_notices.html", partial.lang,
                                                     notices=notices, continue_url=target)
        else:
            response = redirect(target, code=303)
        return self.ctx.set_cookie(response, fresh)


class SecondStepViews:
    """The pages of the second step and of the account's security settings."""

    def __init__(self, ctx: WebContext, flow: SecondStep) -> None:
        self.ctx = ctx
        self.flow = flow

    # -- helpers -------------------------------------------------------------------------
    def _waiting(self) -> tuple[BrowserSession, PartialLogin] | BaseResponse:
        browser = self.ctx.current_session()
        partial = self.flow.partial(browser)
        if browser is None or partial is None:
            lang = self.ctx.page_language(request.args.get("ui_locales"))
            return self.ctx.error_page(lang, "interaction_expired", None)
        return browser, partial

    def _others(self, partial: PartialLogin, current: str) -> bool:
        return any(f.name != current for f in self.ctx.factors.of(partial.person_id)
                   if f.name not in partial.used)

    def _code(self) -> str:
        return request.form.get("code", "")[:MAX_CODE]

    # -- second step ---------------------------------------------------------------------
    def choose(self) -> BaseResponse:
        """GET /login/mfa: pick one of the factors the waiting login may use."""
        waiting = self._waiting()
        if isinstance(waiting, BaseResponse):
            return waiting
        _browser, partial = waiting
        step, factors = self.flow.next_step(partial)
        if step != CHALLENGE:
            return redirect(url_for("idp.mfa_next"), code=303)
        return self.ctx.render("mfa_choose.html", partial.lang, factors=factors,
                               interaction=partial.interaction)

    def next(self) -> BaseResponse:
        """GET /login/mfa/next: carry on with the waiting login (after codes were shown)."""
        waiting = self._waiting()
        if isinstance(waiting, BaseResponse):
            return waiting
        browser, partial = waiting
        return self.flow.proceed(browser, partial)

    def _verify_page(self, template: str, factor: str, partial: PartialLogin,
                     browser: BrowserSession, *, failed: bool) -> BaseResponse:
        return self.ctx.render(template, partial.lang, 400 if failed else 200,
                               csrf_token=browser.csrf_token,
                               failed=failed, others=self._others(partial, factor),
                               interaction=partial.interaction,
                               has_recovery=self.ctx.mfa.recovery.enrolled(partial.person_id))

    def _check_code(self, factor: str, template: str) -> BaseResponse:
        waiting = self._waiting()
        if isinstance(waiting, BaseResponse):
            return waiting
        browser, partial = waiting
        if request.method == "GET":
            return self._verify_page(template, factor, partial, browser, failed=False)
        if not self.ctx.csrf_ok(browser):
            return self.ctx.error_page(partial.lang, "csrf", None, 403)
        refused = self.flow.throttled(browser)
        if refused is not None:
            return refused
        mfa = self.ctx.mfa
        if factor == TOTP:
            ok = mfa.totp.verify(partial.person_id, self._code())
            amr: tuple[str, ...] = ("otp",)
        else:
            ok = mfa.recovery.use(partial.person_id, self._code())
            amr = ("otp",)
        if not ok:
            locked = self.flow.factor_failed(browser, factor)
            if locked is not None:
                return locked
            return self._verify_page(template, factor, partial, browser, failed=True)
        if factor == RECOVERY:
            left = mfa.recovery.remaining(partial.person_id)
            self.ctx.audit(events.RECOVERY_CODE_USED, person_id=partial.person_id, left=left)
            mfa.notices.add(partial.person_id, "recovery_code_used", left=str(left))
        return self.flow.factor_passed(browser, factor, amr)

    def totp(self) -> BaseResponse:
        """GET/POST /login/mfa/totp: a code from the authenticator app."""
        return self._check_code(TOTP, "mfa_totp.html")

    def recovery(self) -> BaseResponse:
        """GET/POST /login/mfa/recovery: one of the person's recovery codes."""
        return self._check_code(RECOVERY, "mfa_recovery.html")

    # -- guided enrollment ---------------------------------------------------------------
    def enroll(self) -> BaseResponse:
        """GET /login/mfa/enroll: the policy needs a factor the person lacks; pick one."""
        waiting = self._waiting()
        if isinstance(waiting, BaseResponse):
            return waiting
        _browser, partial = waiting
        step, factors = self.flow.next_step(partial)
        if step != ENROLL:
            return redirect(url_for("idp.mfa_next"), code=303)
        return self.ctx.render("mfa_enroll.html", partial.lang, factors=factors,
                               interaction=partial.interaction)

    def enroll_totp(self) -> BaseResponse:
        """GET/POST /login/mfa/totp/enroll: set up an authenticator app during login."""
        waiting = self._waiting()
        if isinstance(waiting, BaseResponse):
            return waiting
        browser, partial = waiting
        step, factors = self.flow.next_step(partial)
        if step != ENROLL or TOTP not in [f.name for f in factors]:
            return redirect(url_for("idp.mfa_next"), code=303)
        mfa = self.ctx.mfa
        if request.method == "POST":
            if not self.ctx.csrf_ok(browser):
                return self.ctx.error_page(partial.lang, "csrf", None, 403)
            refused = self.flow.throttled(browser)
            if refused is not None:
                return refused
            if mfa.totp.confirm(partial.person_id, self._code()):
                return self._totp_added(browser, partial)
            locked = self.flow.factor_failed(browser, TOTP)
            if locked is not None:
                return locked
        secret = (mfa.totp.pending_secret(partial.person_id)
                  or mfa.totp.begin_enrollment(partial.person_id))
        return self._enroll_page(partial.person_id, partial.lang, secret, browser,
                                 action=url_for("idp.mfa_enroll_totp"),
                                 failed=request.method == "POST", ask_password=False)

    def _totp_added(self, browser: BrowserSession, partial: PartialLogin) -> BaseResponse:
        mfa = self.ctx.mfa
        self.ctx.audit(events.FACTOR_ADDED, person_id=partial.person_id, factor=TOTP)
        mfa.notices.add(partial.person_id, "factor_added", factor=TOTP)
        codes = mfa.recovery.regenerate(partial.person_id)
        # Confirming proved possession: the factor counts for this login.
        partial.amr = combine_amr(partial.amr, ["otp"])
        partial.used.append(TOTP)
        self.flow.save(browser, partial)
        return self.ctx.render("mfa_recovery_codes.html", partial.lang, codes=codes,
                               continue_url=url_for("idp.mfa_next"))

    def _enroll_page(self, person_id: str, lang: str, secret: str, browser: BrowserSession,
                     *, action: str, failed: bool, ask_password: bool) -> BaseResponse:
        person = self.ctx.provider.directory.person(person_id)
        account = person.username if person else person_id
        uri = totp_codes.provisioning_uri(secret, account)
        return self.ctx.render("mfa_totp_enroll.html", lang, 400 if failed else 200,
                               qr_svg=totp_codes.qr_svg(uri), secret=totp_codes.grouped(secret),
                               action=action, csrf_token=browser.csrf_token, failed=failed,
                               ask_password=ask_password)

    # -- step-up -------------------------------------------------------------------------
    def step_up(self) -> BaseResponse:
        """GET /login/step-up?interaction=...: the session is logged in but the client
        asked for a stronger login; only the second step is needed."""
        browser = self.ctx.current_session()
        interaction = request.args.get("interaction", "")
        pending = browser.pending().get(interaction) if browser is not None else None
        subject = self.ctx.subject(browser)
        lang = (pending or {}).get("lang") or self.ctx.page_language(None)
        if browser is None or pending is None or subject is None:
            return self.ctx.error_page(lang, "interaction_expired", None)
        return self.flow.first_factor_passed(browser, subject.person_id, list(subject.amr),
                                             interaction, lang=lang, step_up=True)

    # -- account security page -----------------------------------------------------------
    def _account(self) -> tuple[BrowserSession, str, str] | BaseResponse:
        browser = self.ctx.current_session()
        subject = self.ctx.subject(browser)
        if browser is None or subject is None:
            return redirect(url_for("idp.login"), code=303)
        return browser, subject.person_id, self.ctx.page_language(
            request.args.get("ui_locales"))

    def account(self) -> BaseResponse:
        """GET /account/security: factors, recovery codes and security notices."""
        found = self._account()
        if isinstance(found, BaseResponse):
            return found
        browser, person_id, lang = found
        return self._account_page(browser, person_id, lang)

    def _account_page(self, browser: BrowserSession, person_id: str, lang: str, *,
                      failed: bool = False, status: int = 200) -> BaseResponse:
        mfa = self.ctx.mfa
        notices = mfa.notices.recent(person_id)
        mfa.notices.mark_seen(person_id, [n.id for n in notices])
        factors = [f for f in self.ctx.factors.of(person_id) if not f.fallback]
        return self.ctx.render(
            "mfa_account.html", lang, status, factors=factors,
            has_totp=mfa.totp.enrolled(person_id), failed=failed,
            recovery_left=mfa.recovery.remaining(person_id), notices=notices,
            requirement=mfa.policy.required_acr(person_id), csrf_token=browser.csrf_token,
            all_factors=self.ctx.factors.all())

    def _reauthenticated(self, browser: BrowserSession, person_id: str, *,
                         with_code: bool) -> bool | BaseResponse:
        """Check the password (and a current TOTP or recovery code) typed again; counts
        failures on the account's throttle. A response means refused outright."""
        person = self.ctx.provider.directory.person(person_id)
        if person is None:
            return False
        account = account_key(person.username)
        address = self.ctx.client_address()
        throttle = self.ctx.mfa.throttle
        lang = self.ctx.page_language(None)
        verdict = throttle.check(account, address)
        if not verdict.allowed:
            return self.flow.refused(lang, verdict)
        password = request.form.get("password", "")[:256]
        ok = bool(password) and verify_password(password, person.password_hash)
        if ok and with_code:
            code = self._code()
            ok = (self.ctx.mfa.totp.verify(person_id, code)
                  or self.ctx.mfa.recovery.use(person_id, code))
        if ok:
            return True
        verdict = throttle.failed(account, address)
        if verdict.locked:
            self.ctx.audit(events.ACCOUNT_LOCKED, person_id=person_id)
            return self.flow.refused(lang, verdict)
        return False

    def account_totp(self) -> BaseResponse:
        """GET/POST /account/security/totp: add (or replace) the authenticator app."""
        found = self._account()
        if isinstance(found, BaseResponse):
            return found
        browser, person_id, lang = found
        mfa = self.ctx.mfa
        # Replacing the app, or adding it to an account that has another factor, needs
        # the password again: an intruder in a session left open must not plant theirs.
        replacing = mfa.totp.enrolled(person_id) or any(
            not f.fallback for f in self.ctx.factors.of(person_id))
        failed = False
        if request.method == "POST":
            if not self.ctx.csrf_ok(browser):
                return self.ctx.error_page(lang, "csrf", None, 403)
            allowed: bool | BaseResponse = True
            if replacing:
                allowed = self._reauthenticated(browser, person_id, with_code=False)
                if isinstance(allowed, BaseResponse):
                    return allowed
            if allowed and mfa.totp.confirm(person_id, self._code()):
                self.ctx.audit(events.FACTOR_ADDED, person_id=person_id, factor=TOTP)
                mfa.notices.add(person_id, "factor_added", factor=TOTP)
                if mfa.recovery.enrolled(person_id):
                    return redirect(url_for("idp.account_security"), code=303)
                return self.ctx.render("mfa_recovery_codes.html", lang,
                                       codes=mfa.recovery.regenerate(person_id),
                                       continue_url=url_for("idp.account_security"))
            failed = True
        secret = mfa.totp.pending_secret(person_id) or mfa.totp.begin_enrollment(person_id)
        return self._enroll_page(person_id, lang, secret, browser,
                                 action=url_for("idp.account_totp"), failed=failed,
                                 ask_password=replacing)

    def account_totp_remove(self) -> BaseResponse:
        """POST /account/security/totp/remove: needs the password and a current code."""
        found = self._account()
        if isinstance(found, BaseResponse):
            return found
        browser, person_id, lang = found
        if not self.ctx.csrf_ok(browser):
            return self.ctx.error_page(lang, "csrf", None, 403)
        allowed = self._reauthenticated(browser, person_id, with_code=True)
        if isinstance(allowed, BaseResponse):
            return allowed
        if not allowed:
            return self._account_page(browser, person_id, lang, failed=True, status=400)
        mfa = self.ctx.mfa
        if mfa.totp.remove(person_id):
            self.ctx.audit(events.FACTOR_REMOVED, person_id=person_id, factor=TOTP)
            mfa.notices.add(person_id, "factor_removed", factor=TOTP)
        if not [f for f in self.ctx.factors.of(person_id) if not f.fallback]:
            mfa.recovery.remove_all(person_id)  # nothing left for them to recover
        return redirect(url_for("idp.account_security"), code=303)

    def account_recovery(self) -> BaseResponse:
        """POST /account/security/recovery: new recovery codes (old ones stop working);
        needs the password."""
        found = self._account()
        if isinstance(found, BaseResponse):
            return found
        browser, person_id, lang = found
        if not self.ctx.csrf_ok(browser):
            return self.ctx.error_page(lang, "csrf", None, 403)
        if not [f for f in self.ctx.factors.of(person_id) if not f.fallback]:
            return redirect(url_for("idp.account_security"), code=303)
        allowed = self._reauthenticated(browser, person_id, with_code=False)
        if isinstance(allowed, BaseResponse):
            return allowed
        if not allowed:
            return self._account_page(browser, person_id, lang, failed=True, status=400)
        codes = self.ctx.mfa.recovery.regenerate(person_id)
        self.ctx.audit(events.RECOVERY_CODES_REGENERATED, person_id=person_id)
        self.ctx.mfa.notices.add(person_id, "recovery_codes_regenerated")
        return self.ctx.render("mfa_recovery_codes.html", lang, codes=codes,
                               continue_url=url_for("idp.account_security"))


def register_builtin_factors(ctx: WebContext) -> None:
    """TOTP and recovery codes into ``ctx.factors`` (passkeys register themselves)."""
    ctx.factors.register(
        FactorType(name=TOTP, amr=("otp",), phishing_resistant=False,
                   challenge_endpoint="idp.mfa_totp", enroll_endpoint="idp.mfa_enroll_totp",
                   label_key="idp.mfa.factor.totp", order=20),
        lambda person_id: ctx.mfa.totp.enrolled(person_id))
    ctx.factors.register(
        FactorType(name=RECOVERY, amr=("otp",), phishing_resistant=False,
                   challenge_endpoint="idp.mfa_recovery", enroll_endpoint=None,
                   label_key="idp.mfa.factor.recovery", fallback=True, order=90),
        lambda person_id: ctx.mfa.recovery.enrolled(person_id))


ROUTES = (
    ("/login/mfa", "mfa_choose", "choose", ["GET"]),
    ("/login/mfa/next", "mfa_next", "next", ["GET"]),
    ("/login/mfa/totp", "mfa_totp", "totp", ["GET", "POST"]),
    ("/login/mfa/recovery", "mfa_recovery", "recovery", ["GET", "POST"]),
    ("/login/mfa/enroll", "mfa_enroll", "enroll", ["GET"]),
    ("/login/mfa/totp/enroll", "mfa_enroll_totp", "enroll_totp", ["GET", "POST"]),
    ("/login/step-up", "mfa_step_up", "step_up", ["GET"]),
    ("/account/security", "account_security", "account", ["GET"]),
    ("/account/security/totp", "account_totp", "account_totp", ["GET", "POST"]),
    ("/account/security/totp/remove", "account_totp_remove", "account_totp_remove",
     ["POST"]),
    ("/account/security/recovery", "account_recovery", "account_recovery", ["POST"]),
)
