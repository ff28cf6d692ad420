"""The records REST API under ``/api/v1``: create, amend, submit, review, approve,
anchor, suspend, reinstate, revoke and withdraw records; read them, their history, their
offline bundle and their Verifiable Credential; verify them; search approved app filings.

A thin Flask adapter over ``records.registry.RecordRegistry``. It does not import the
composition root or the identity provider: the app hands in ``authenticate`` (bearer
token -> ``Caller``), the directory lookups it needs, the registry and a problem
factory (RFC 9457). Authorisation is layered: the token's scopes (``records:submit``,
``records:review``, ``records:verify``), then the caller's directory role in the
organisation it acts for (records.web.access), then the organisation's registered rights
and the lifecycle, which the core enforces.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from flask import Blueprint, Response, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from ledger.errors import LedgerError
from records.envelope import Record, RecordType, Subject, SubjectKind
from records.errors import (
    AnchoringFailed,
    CanonicalFormError,
    CredentialError,
    IllegalTransition,
    MalformedBundle,
    MalformedRecord,
    NotAuthorised,
    RecordNotFound,
    RecordsError,
    SchemaViolation,
    StatusListError,
    UnknownIssuer,
    UnknownSchema,
)
from records.lifecycle import Actor, State
from records.registry import RecordRegistry
from records.status import PURPOSES
from records.timestamps import format_timestamp, parse_timestamp, utc_now
from records.web.access import (
    ISSUER_ROLES,
    ORG_HEADER,
    REVIEW,
    REVIEWER_ROLES,
    SCOPES,
    SUBMIT,
    VERIFY,
    AccessRefused,
    Caller,
    Membership,
    choose_actor,
    require_scope,
)
from records.web.schemas import request_problems

log = logging.getLogger("records.web")

PREFIX = "/api/v1"
_ORG = re.compile(r"[A-Za-z0-9_-]{1,40}")
_UUID = re.compile(r"[0-9a-fA-F-]{36}")
_ANCHORED = (State.ACTIVE, State.SUSPENDED, State.REVOKED, State.EXPIRED, State.WITHDRAWN)
# Members of an app filing's content anyone may see (the data-security contact is a
# person: never public).
_PUBLIC_FILING = ("provider", "app", "icp_filing_number")
MAX_PAGE = 200


class ProblemFactory(Protocol):
    """Builds an ``application/problem+json`` response (``urn:edutrust:problem:<slug>``,
    translated title and detail); ``extensions`` adds members."""

    def __call__(self, status: int, slug: str, *,
                 extensions: dict[str, Any] | None = None, **values: Any) -> Response: ...


class People(Protocol):
    """The directory lookups the API needs."""

    def memberships_of(self, person_ref: str) -> list[Membership] | None:
        """The person's memberships, or None if the directory has no such person."""


@dataclass(frozen=True)
class Operation:
    """What the OpenAPI description says about one route (records.web.openapi)."""

    summary: str
    summary_zh: str
    scopes: tuple[str, ...] = ()          # any one of them; () = public
    body: str | None = None               # request schema name
    response: str | None = "Envelope"     # response schema name
    status: int = 200
    query: tuple[tuple[str, str, str], ...] = ()   # (name, JSON type, description)
    media_type: str = "application/json"
    errors: tuple[int, ...] = (400, 404)
    tags: tuple[str, ...] = ("records",)
    extra: dict[str, Any] = field(default_factory=dict)


def described(operation: Operation) -> Callable[[Any], Any]:
    """Attach an OpenAPI description to a view function."""
    def attach(view: Any) -> Any:
        view.__openapi__ = operation
        return view
    return attach


class _Refusal(Exception):
    def __init__(self, status: int, slug: str, extensions: dict[str, Any] | None = None,
                 **values: object) -> None:
        super().__init__(slug)
        self.status, self.slug, self.extensions, self.values = status, slug, extensions, values


# --- errors of the core -> problems ---------------------------------------------------------

def core_problem(exc: RecordsError) -> tuple[int, str, dict[str, Any], dict[str, object]]:
    """(status, slug, extension members, detail values) for an error of the records
    core. The core's English explanation travels as ``reason``."""
    reason = {"reason": str(exc)}
    if isinstance(exc, SchemaViolation):
        errors = [{"pointer": "/content" + p if p is not None else "/content",
                   "message": m} for p, m in exc.errors]
        if not exc.errors:  # a violation of the record as a whole (type, subject)
            errors = [{"pointer": "", "message": str(exc)}]
        return 422, "records_schema_violation", {"errors": errors}, {}
    if isinstance(exc, IllegalTransition):
        return 409, "records_illegal_transition", {
            "current": exc.current, "target": exc.target, "allowed": list(exc.allowed)}, {
            "current": exc.current, "target": exc.target,
            "allowed": ", ".join(exc.allowed) or "-"}
    from records.importer import ImportFileError
    from records.sharing import InvalidShareRequest, ShareCodeGone, ShareCodeNotFound

    table: list[tuple[type[RecordsError], int, str]] = [
        (ShareCodeNotFound, 404, "records_share_not_found"),
        (ShareCodeGone, 410, "records_share_gone"),
        (InvalidShareRequest, 422, "records_share_invalid"),
        (ImportFileError, 422, "records_import_unreadable"),
        (RecordNotFound, 404, "records_not_found"),
        (NotAuthorised, 403, "records_not_authorised"),
        (UnknownIssuer, 403, "records_unknown_issuer"),
        (UnknownSchema, 422, "records_unknown_schema"),
        (MalformedRecord, 422, "records_malformed_record"),
        (MalformedBundle, 422, "records_malformed_bundle"),
        (CanonicalFormError, 422, "records_canonical_form"),
        (AnchoringFailed, 503, "records_anchoring_failed"),
        (StatusListError, 409, "records_status_list"),
        (CredentialError, 409, "records_credential"),
    ]
    for kind, status, slug in table:
        if isinstance(exc, kind):
            return status, slug, ({} if kind is RecordNotFound else reason), {}
    return 422, "records_error", reason, {}


# --- request helpers -------------------------------------------------------------------------

def _body(schema: str | None) -> dict[str, Any]:
    """The JSON object of the request, checked against request schema ``schema``."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        body: Any = {}
    else:
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise _Refusal(400, "records_bad_json") from None
    if not isinstance(body, dict):
        raise _Refusal(422, "records_request_schema",
                       {"errors": [{"pointer": "", "message": "the body must be an object"}]})
    if schema is not None:
        problems = request_problems(schema, body)
        if problems:
            raise _Refusal(422, "records_request_schema", {"errors": problems})
    return body


def _int_arg(name: str, default: int | None, *, low: int, high: int) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise _Refusal(400, "records_bad_parameter", name=name, low=low, high=high)
    return int(raw)


def _time(body: dict[str, Any], name: str) -> dt.datetime | None:
    value = body.get(name)
    return parse_timestamp(value) if isinstance(value, str) else None


def _requested_org() -> str | None:
    value = request.headers.get(ORG_HEADER)
    if value is None:
        return None
    value = value.strip()
    if not _ORG.fullmatch(value):
        raise _Refusal(400, "records_bad_parameter", name=ORG_HEADER, low=1, high=40)
    return value


def _record_id(record_id: str) -> str:
    if not _UUID.fullmatch(record_id):
        raise _Refusal(404, "records_not_found")
    return record_id.lower()


def summary(record: Record) -> dict[str, Any]:
    return {"id": record.id, "type": record.type.value, "version": record.version,
            "state": record.state.value, "issuer": record.issuer.org,
            "digest": record.digest,
            "subject": {"kind": record.subject.kind.value, "ref": record.subject.ref,
                        "org": record.subject.org},
            "filing_number": (record.review.assigned.get("filing_number")
                              if record.review else None),
            "anchored": record.anchor is not None}


def public_filing(record: Record) -> dict[str, Any]:
    content = record.content
    review = record.review
    return {"id": record.id, "version": record.version,
            "filing_number": review.assigned.get("filing_number") if review else None,
            "state": record.state.value,
            **{name: content[name] for name in _PUBLIC_FILING if name in content},
            "security_protection_level": content.get("security_protection", {}).get("level"),
            "reviewed_by": review.org if review else None,
            "approved_at": format_timestamp(review.at) if review else None}


def _json(document: Any, status: int = 200, *, media_type: str | None = None) -> Response:
    response = jsonify(document)
    response.status_code = status
    if media_type:
        response.content_type = media_type
    response.headers["Cache-Control"] = "no-store"
    return response


# --- the blueprint ---------------------------------------------------------------------------

def records_api_blueprint(registry: Callable[[], RecordRegistry],
                          authenticate: Callable[[str], Caller | None],
                          people: People, problem: ProblemFactory, *,
                          public_url: str,
                          translate: Callable[..., str] | None = None) -> Blueprint:
    """The ``/api/v1`` records routes. ``registry()`` returns the registry (opened once
    per worker); ``public_url`` is the platform's base URL (status list URLs in
    credentials); ``translate(key, **values)`` renders catalog messages in the request's
    language (import row errors)."""
    say = translate or (lambda key, /, **values: key)
    bp = Blueprint("records_api", __name__, url_prefix=PREFIX)

    @bp.errorhandler(_Refusal)
    def _refused(exc: _Refusal) -> Response:
        return problem(exc.status, exc.slug, extensions=exc.extensions, **exc.values)

    @bp.errorhandler(AccessRefused)
    def _access(exc: AccessRefused) -> Response:
        response = problem(exc.status, exc.slug, extensions=None, **exc.values)
        if exc.slug == "records_insufficient_scope":
            scope = str(exc.values.get("scope", ""))
            response.headers["WWW-Authenticate"] = (
                f'Bearer realm="edutrust", error="insufficient_scope", scope="{scope}"')
        return response

    @bp.errorhandler(RecordsError)
    def _core(exc: RecordsError) -> Response:
        status, slug, extensions, values = core_problem(exc)
        if status == 503:
            log.warning("records core unavailable", extra={"fields": {"error": type(
                exc).__name__}})
        return problem(status, slug, extensions=extensions, **values)

    @bp.errorhandler(LedgerError)
    def _ledger(exc: LedgerError) -> Response:
        log.warning("ledger unavailable", extra={"fields": {"error": type(exc).__name__}})
        return problem(503, "ledger_unavailable")

    @bp.errorhandler(SQLAlchemyError)
    def _database(exc: SQLAlchemyError) -> Response:
        log.warning("database error", extra={"fields": {"error": type(exc).__name__}})
        return problem(503, "unavailable")

    # -- who is calling ------------------------------------------------------------------
    def caller(*scopes: str) -> Caller:
        """The authenticated caller holding one of ``scopes`` (401 / 403 otherwise)."""
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _Unauthenticated(invalid=bool(header))
        found = authenticate(token)
        if found is None:
            raise _Unauthenticated(invalid=True)
        require_scope(found, *scopes)
        return found

    @bp.errorhandler(_Unauthenticated)
    def _unauthenticated(exc: _Unauthenticated) -> Response:
        response = problem(401, "records_unauthenticated")
        challenge = 'Bearer realm="edutrust"'
        if exc.invalid:
            challenge += ', error="invalid_token"'
        response.headers["WWW-Authenticate"] = challenge
        return response

    def reviewer_of(org_code: str, record: Record) -> bool:
        reg = registry()
        try:
            org = reg.issuers.organisation(org_code)
        except UnknownIssuer:
            return False
        if record.type.value not in org.reviews or org.code == record.issuer.org:
            return False
        if record.type is RecordType.APP_FILING:
            return org.region == record.content["provider"]["province"]
        return True

    def may_read(who: Caller, record: Record) -> bool:
        if record.issuer.org in who.orgs(ISSUER_ROLES):
            return True
        if (who.is_person and record.subject.kind is SubjectKind.PERSON
                and record.subject.ref == who.ref):
            return True
        if record.state is not State.DRAFT and any(
                reviewer_of(org, record) for org in who.orgs(REVIEWER_ROLES)):
            return True
        return record.type is RecordType.APP_FILING and record.anchor is not None

    def readable(record_id: str, version: int | None = None) -> tuple[Caller, Record]:
        who = caller(*SCOPES)
        record = registry().get(_record_id(record_id), version)
        if not may_read(who, record):
            raise _Refusal(404, "records_not_found")  # do not reveal that it exists
        return who, record

    def issuer_actor(who: Caller, record: Record | None = None) -> Actor:
        return choose_actor(who, ISSUER_ROLES, requested=_requested_org(),
                            prefer=record.issuer.org if record else None)

    def reviewer_actor(who: Caller) -> Actor:
        return choose_actor(who, REVIEWER_ROLES, requested=_requested_org())

    def status_actor(who: Caller, record: Record) -> Actor:
        """The issuer (with records:submit) or a reviewer (with records:review)."""
        requested = _requested_org()
        if SUBMIT in who.scopes and (requested in (None, record.issuer.org)) and \
                record.issuer.org in who.orgs(ISSUER_ROLES):
            return choose_actor(who, ISSUER_ROLES, requested=record.issuer.org)
        if REVIEW in who.scopes:
            return choose_actor(who, REVIEWER_ROLES, requested=requested)
        return issuer_actor(who, record)

    # -- creating and amending -----------------------------------------------------------
    @bp.post("/records")
    @described(Operation("Create a record (draft)", "创建记录（草稿）", (SUBMIT,),
                         body="RecordCreate", status=201, errors=(400, 403, 409, 422)))
    def create_record() -> Response:
        who = caller(SUBMIT)
        body = _body("RecordCreate")
        actor = issuer_actor(who)
        subject = None
        if body["type"] == RecordType.ARCHIVE_ENTRY.value:
            subject = person_subject(body.get("subject"), actor)
        elif "subject" in body:
            raise _Refusal(422, "records_request_schema", {"errors": [{
                "pointer": "/subject",
                "message": "only archive entries name a subject; other types are about "
                           "what their content names"}]})
        valid_from, valid_until = _time(body, "valid_from"), _time(body, "valid_until")
        if valid_until is not None and valid_until <= (valid_from or utc_now()):
            raise _Refusal(422, "records_request_schema", {"errors": [{
                "pointer": "/valid_until", "message": "the validity must end after it "
                                                      "starts (and in the future)"}]})
        record = registry().create(body["type"], body["content"], actor=actor,
                                   subject=subject, valid_from=valid_from,
                                   valid_until=valid_until,
                                   schema_version=body.get("schema_version"))
        response = _json(record.to_json(), 201)
        response.headers["Location"] = f"{PREFIX}/records/{record.id}"
        return response

    def person_subject(given: Any, actor: Actor) -> Subject:
        """An archive entry is about a person of the issuing organisation, as the
        directory (一数一源) says — not merely as the request claims."""
        if not isinstance(given, dict):
            raise _Refusal(422, "records_request_schema", {"errors": [{
                "pointer": "/subject", "message": "an archive entry names its subject: "
                                                  "{\"ref\": <directory person id>}"}]})
        ref, org = given["ref"], given.get("org") or actor.org
        memberships = people.memberships_of(ref)
        if memberships is None:
            raise _Refusal(422, "records_unknown_person")
        if org != actor.org:
            # The core refuses this too (and names both organisations).
            raise NotAuthorised(f"{actor.org} may register archive entries only for its "
                                f"own people, not for people of {org}")
        if not any(m.org == org for m in memberships):
            raise NotAuthorised(f"the person is not a member of {org}")
        return Subject(SubjectKind.PERSON, ref, org)

    @bp.post("/records/<record_id>/versions")
    @described(Operation("Amend a record (a new version, draft)", "修改记录（新版本草稿）",
                         (SUBMIT,), body="Amendment", status=201, errors=(400, 403, 404,
                                                                         409, 422)))
    def amend_record(record_id: str) -> Response:
        who = caller(SUBMIT)
        body = _body("Amendment")
        current = registry().get(_record_id(record_id))
        record = registry().amend(current.id, body["content"],
                                  actor=issuer_actor(who, current),
                                  valid_until=_time(body, "valid_until"),
                                  comment=body.get("comment"))
        response = _json(record.to_json(), 201)
        response.headers["Location"] = f"{PREFIX}/records/{record.id}/versions/{record.version}"
        return response

    # -- lifecycle -----------------------------------------------------------------------
    transition_errors = (400, 403, 404, 409, 422)

    @bp.post("/records/<record_id>/submit")
    @described(Operation("Submit a draft for review (the issuer signs it)",
                         "提交审核（签发机构签名）", (SUBMIT,), body="Comment",
                         errors=transition_errors))
    def submit_record(record_id: str) -> Response:
        who = caller(SUBMIT)
        body = _body("Comment")
        record = registry().get(_record_id(record_id))
        return _json(registry().submit(record.id, actor=issuer_actor(who, record),
                                       comment=body.get("comment")).to_json())

    @bp.post("/records/<record_id>/start-review")
    @described(Operation("Start reviewing a submitted record", "开始审核", (REVIEW,),
                         body="Comment", errors=transition_errors))
    def start_review(record_id: str) -> Response:
        who = caller(REVIEW)
        body = _body("Comment")
        return _json(registry().start_review(_record_id(record_id), actor=reviewer_actor(who),
                                             comment=body.get("comment")).to_json())

    @bp.post("/records/<record_id>/approve")
    @described(Operation("Approve a record under review, and anchor it on the ledger",
                         "审核通过并上链存证", (REVIEW,), body="Approval",
                         errors=(*transition_errors, 503)))
    def approve(record_id: str) -> Response:
        who = caller(REVIEW)
        body = _body("Approval")
        reg = registry()
        record = reg.approve(_record_id(record_id), actor=reviewer_actor(who),
                             comment=body.get("comment"))
        if body.get("anchor", True):
            try:
                [record] = reg.anchor([record.id])
            except (AnchoringFailed, LedgerError, SQLAlchemyError) as exc:
                # Approved stays approved; POST .../anchor retries.
                log.warning("anchoring after approval failed",
                            extra={"fields": {"error": type(exc).__name__}})
        return _json(record.to_json())

    @bp.post("/records/<record_id>/return")
    @described(Operation("Return a record for changes (the issuer amends it)",
                         "退回修改", (REVIEW,), body="RequiredComment",
                         errors=transition_errors))
    def return_record(record_id: str) -> Response:
        who = caller(REVIEW)
        body = _body("RequiredComment")
        return _json(registry().return_for_changes(
            _record_id(record_id), actor=reviewer_actor(who), comment=body["comment"]
        ).to_json())

    @bp.post("/records/<record_id>/reject")
    @described(Operation("Reject a record", "驳回", (REVIEW,), body="RequiredComment",
                         errors=transition_errors))
    def reject_record(record_id: str) -> Response:
        who = caller(REVIEW)
        body = _body("RequiredComment")
        return _json(registry().reject(_record_id(record_id), actor=reviewer_actor(who),
                                       comment=body["comment"]).to_json())

    @bp.post("/records/<record_id>/anchor")
    @described(Operation("Anchor an approved record on the ledger (retry after a failed "
                         "anchoring)", "上链存证（重试）", (SUBMIT, REVIEW),
                         errors=(*transition_errors, 503)))
    def anchor_record(record_id: str) -> Response:
        who = caller(SUBMIT, REVIEW)
        _body(None)
        reg = registry()
        record = reg.get(_record_id(record_id))
        if not (record.issuer.org in who.orgs(ISSUER_ROLES) and SUBMIT in who.scopes) and \
                not (REVIEW in who.scopes and any(reviewer_of(o, record)
                                                  for o in who.orgs(REVIEWER_ROLES))):
            raise AccessRefused(403, "records_no_role")
        [anchored] = reg.anchor([record.id])
        return _json(anchored.to_json())

    def status_change(name: str, summary_en: str, summary_zh: str) -> None:
        def view(record_id: str) -> Response:
            who = caller(SUBMIT, REVIEW)
            body = _body("Comment")
            reg = registry()
            record = reg.get(_record_id(record_id))
            action = getattr(reg, name)
            return _json(action(record.id, actor=status_actor(who, record),
                                comment=body.get("comment")).to_json())
        view.__name__ = f"{name}_record"
        described(Operation(summary_en, summary_zh, (SUBMIT, REVIEW), body="Comment",
                            errors=(*transition_errors, 503)))(view)
        bp.add_url_rule(f"/records/<record_id>/{name}", view_func=view, methods=["POST"])

    status_change("suspend", "Suspend an active record", "暂停（挂起）记录")
    status_change("reinstate", "Reinstate a suspended record", "恢复记录")
    status_change("revoke", "Revoke a record", "撤销记录")

    @bp.post("/records/<record_id>/withdraw")
    @described(Operation("Withdraw a record (issuer only)", "撤回记录（仅签发机构）",
                         (SUBMIT,), body="Comment", errors=(*transition_errors, 503)))
    def withdraw_record(record_id: str) -> Response:
        who = caller(SUBMIT)
        body = _body("Comment")
        record = registry().get(_record_id(record_id))
        return _json(registry().withdraw(record.id, actor=issuer_actor(who, record),
                                         comment=body.get("comment")).to_json())

    # -- reading -------------------------------------------------------------------------
    version_query = (("version", "integer", "record version (default: the newest)"),)

    @bp.get("/records")
    @described(Operation("List the records the caller may read", "列出可查看的记录",
                         SCOPES, response="RecordList",
                         query=(("type", "string", "record type"),
                                ("state", "string", "lifecycle state"),
                                ("limit", "integer", f"page size (1-{MAX_PAGE}, default 50)"),
                                ("offset", "integer", "items to skip"))))
    def list_records() -> Response:
        who = caller(*SCOPES)
        kind = request.args.get("type")
        if kind is not None and kind not in {t.value for t in RecordType}:
            raise _Refusal(400, "records_bad_parameter", name="type", low=1, high=1)
        state = request.args.get("state")
        if state is not None and state not in {s.value for s in State}:
            raise _Refusal(400, "records_bad_parameter", name="state", low=1, high=1)
        limit = _int_arg("limit", 50, low=1, high=MAX_PAGE) or 50
        offset = _int_arg("offset", 0, low=0, high=10**9) or 0
        found = candidates(who, kind, state)
        reg = registry()
        page = [reg.get(record_id, version)
                for record_id, version in found[offset:offset + limit]]
        return _json({"items": [summary(r) for r in page if may_read(who, r)],
                      "total": len(found), "limit": limit, "offset": offset})

    def candidates(who: Caller, kind: str | None, state: str | None) -> list[tuple[str, int]]:
        """(id, newest version) of the records the caller may read, oldest first, found
        in SQL so that only one page of envelopes is opened. (An education department
        also finds app filings of other provinces here; ``may_read`` drops them.)"""
        from sqlalchemy import and_, func, or_, select

        from records.store import RecordRow

        reg = registry()
        conditions: list[Any] = []
        issuing = who.orgs(ISSUER_ROLES)
        if issuing:
            conditions.append(RecordRow.issuer_org.in_(issuing))
        if who.is_person:
            conditions.append(and_(RecordRow.subject_kind == SubjectKind.PERSON.value,
                                   RecordRow.subject_ref == who.ref))
        reviewed: set[str] = set()
        for org in who.orgs(REVIEWER_ROLES):
            try:
                reviewed |= reg.issuers.organisation(org).reviews
            except UnknownIssuer:
                continue
        if reviewed:
            conditions.append(and_(RecordRow.type.in_(sorted(reviewed)),
                                   RecordRow.state != State.DRAFT.value))
        if not conditions:
            return []
        newest = (select(RecordRow.record_id, func.max(RecordRow.version).label("version"))
                  .group_by(RecordRow.record_id).subquery())
        query = (select(RecordRow.record_id, RecordRow.version)
                 .join(newest, and_(RecordRow.record_id == newest.c.record_id,
                                    RecordRow.version == newest.c.version))
                 .where(or_(*conditions)))
        if kind is not None:
            query = query.where(RecordRow.type == kind)
        if state is not None:
            query = query.where(RecordRow.state == state)
        with reg.store.sessions() as session:
            rows = session.execute(query.order_by(RecordRow.created_at,
                                                  RecordRow.record_id)).all()
        return [(record_id, version) for record_id, version in rows]

    @bp.get("/records/<record_id>")
    @described(Operation("Get a record (its newest version)", "查看记录（最新版本）",
                         SCOPES))
    def get_record(record_id: str) -> Response:
        _, record = readable(record_id)
        return _json(record.to_json())

    @bp.get("/records/<record_id>/versions/<int:version>")
    @described(Operation("Get one version of a record", "查看记录的某一版本", SCOPES))
    def get_record_version(record_id: str, version: int) -> Response:
        _, record = readable(record_id, version)
        return _json(record.to_json())

    @bp.get("/records/<record_id>/history")
    @described(Operation("Versions of a record and their signed lifecycle",
                         "记录的版本与签名的流转历史", SCOPES, response="History"))
    def record_history(record_id: str) -> Response:
        who, latest = readable(record_id)
        versions: list[dict[str, Any]] = []
        for record in registry().store.versions(latest.id):
            if not may_read(who, record):
                continue
            versions.append({"version": record.version, "state": record.state.value,
                             "digest": record.digest,
                             "anchor": record.anchor.to_json() if record.anchor else None,
                             "lifecycle": [t.to_json() for t in record.lifecycle]})
        anchored = [int(v["version"]) for v in versions if v["anchor"] is not None]
        for entry in versions:
            entry["superseded"] = bool(entry["anchor"]) and entry["version"] != max(anchored)
        return _json({"id": latest.id, "versions": versions})

    @bp.get("/records/<record_id>/review-notes")
    @described(Operation("What a reviewer should know (earlier registrations of the same "
                         "content)", "审核提示（同一内容的在先登记）", (REVIEW,),
                         response="ReviewNotes"))
    def review_notes(record_id: str) -> Response:
        who = caller(REVIEW)
        record = registry().get(_record_id(record_id))
        if not any(reviewer_of(o, record) for o in who.orgs(REVIEWER_ROLES)):
            raise _Refusal(404, "records_not_found")
        return _json({"notes": registry().review_notes(record.id)})

    @bp.get("/records/<record_id>/bundle")
    @described(Operation("Download the offline verification bundle", "下载离线核验包",
                         SCOPES, response="Bundle", query=version_query,
                         errors=(400, 404, 503)))
    def record_bundle(record_id: str) -> Response:
        _, record = readable(record_id, _int_arg("version", None, low=1, high=10**6))
        bundle = registry().bundle(record.id, record.version)
        response = _json(bundle)
        response.headers["Content-Disposition"] = (
            f'attachment; filename="record-{record.id}-v{record.version}.json"')
        return response

    @bp.get("/records/<record_id>/credential")
    @described(Operation("Export as a W3C Verifiable Credential 2.0 (sm2-jcs-2025 proof)",
                         "导出为 W3C 可验证凭证 2.0", SCOPES, response="Credential",
                         query=version_query, media_type="application/vc",
                         errors=(400, 404, 409)))
    def record_credential(record_id: str) -> Response:
        _, record = readable(record_id, _int_arg("version", None, low=1, high=10**6))
        document = registry().credential(record.id, record.version, base_url=public_url)
        return _json(document, media_type="application/vc")

    # -- verification --------------------------------------------------------------------
    @bp.get("/records/<record_id>/verification")
    @described(Operation("Verify a stored record against the live ledger",
                         "核验记录（在线）", (VERIFY,), response="VerificationReport",
                         query=version_query))
    def record_verification(record_id: str) -> Response:
        caller(VERIFY)
        version = _int_arg("version", None, low=1, high=10**6)
        report = registry().verify(_record_id(record_id), version)
        return _json(report.to_json())

    @bp.post("/verify")
    @described(Operation("Verify a record envelope or an offline bundle",
                         "核验提交的记录或离线核验包", (VERIFY,), body="VerifyRequest",
                         response="VerificationReport", errors=(400, 422)))
    def verify() -> Response:
        from records.bundle import verify_bundle
        from records.verification import verify_evidence

        caller(VERIFY)
        body = _body("VerifyRequest")
        reg = registry()
        if "record" in body:
            record = Record.from_json(body["record"])
            report = verify_evidence(reg.evidence(record), reg.trust_anchors())
        else:
            report = verify_bundle(body.get("bundle", body), reg.trust_anchors())
        return _json(report.to_json())

    # -- public --------------------------------------------------------------------------
    @bp.get("/app-filings")
    @described(Operation("Search approved app filings (public)", "查询已备案的教育应用（公开）",
                         (), response="AppFilingList", tags=("public",),
                         query=(("q", "string", "filing number, app or provider name, "
                                                "credit code or package id (substring)"),
                                ("limit", "integer", f"page size (1-{MAX_PAGE})"),
                                ("offset", "integer", "items to skip"))))
    def search_app_filings() -> Response:
        query = (request.args.get("q") or "").strip().lower()[:100]
        limit = _int_arg("limit", 50, low=1, high=MAX_PAGE) or 50
        offset = _int_arg("offset", 0, low=0, high=10**9) or 0
        latest: dict[str, Record] = {}
        for record in registry().store.find(record_type=RecordType.APP_FILING.value,
                                            states=[s.value for s in _ANCHORED]):
            if record.anchor is not None:
                latest[record.id] = record
        items = [public_filing(r) for r in latest.values()]
        if query:
            items = [i for i in items if query in json.dumps(
                [i["filing_number"], i.get("provider"), i.get("app")],
                ensure_ascii=False).lower()]
        return _json({"items": items[offset:offset + limit], "total": len(items)})

    @bp.get("/status-lists/<list_id>/<purpose>")
    @described(Operation("The latest signed, anchored Bitstring Status List snapshot "
                         "(public)", "最新的状态列表快照（公开）", (), response="StatusList",
                         tags=("public",), errors=(404,)))
    def status_list(list_id: str, purpose: str) -> Response:
        if purpose not in PURPOSES or len(list_id) > 100:
            raise _Refusal(404, "records_not_found")
        latest = registry().store.latest_snapshot(list_id, purpose)
        if latest is None:
            raise _Refusal(404, "records_not_found")
        snapshot, anchor, _ = latest
        response = _json({"snapshot": snapshot, "anchor": anchor.to_json()})
        response.headers["Cache-Control"] = "no-cache"
        return response

    @bp.get("/trust-anchors")
    @described(Operation("What an offline verifier pins: root certificate and ledger log "
                         "keys (public)", "离线核验的信任锚（公开）", (),
                         response="TrustAnchors", tags=("public",), errors=(503,)))
    def trust_anchors() -> Response:
        response = _json(registry().trust_anchors().to_json())
        response.headers["Cache-Control"] = "public, max-age=300"
        return response

    # -- share codes (records.sharing) ----------------------------------------------------
    def share_codes() -> Any:
        from records.sharing import ShareCodes

        reg = registry()
        return ShareCodes(reg.store.sessions, reg)

    def holder_for(who: Caller, record: Record | None = None) -> Any:
        """A person shares as themself (the subject of an archive entry), unless the
        request names an organisation; a client shares for its organisation."""
        from records.sharing import Holder, holds

        requested = _requested_org()
        if who.is_person and requested is None and (
                record is None or holds(record, Holder(person=who.ref))):
            return Holder(person=who.ref)
        prefer = None
        if record is not None:
            orgs = who.orgs(ISSUER_ROLES)
            prefer = next((o for o in (record.issuer.org, record.subject.org) if o in orgs),
                          None)
        return Holder(org=choose_actor(who, ISSUER_ROLES, requested=requested,
                                       prefer=prefer).org)

    @bp.post("/records/<record_id>/share-codes")
    @described(Operation("Create a share code for a record (shown once)",
                         "为记录创建分享码（仅显示一次）", SCOPES, body="ShareCodeCreate",
                         response="ShareCode", status=201, tags=("sharing",),
                         errors=(400, 403, 404, 422)))
    def create_share_code(record_id: str) -> Response:
        who = caller(*SCOPES)
        body = _body("ShareCodeCreate")
        record = registry().get(_record_id(record_id))
        expires = _time(body, "expires_at")
        assert expires is not None  # required by the schema
        issued = share_codes().create(record.id, holder_for(who, record), expires_at=expires,
                                      fields=body.get("fields"), version=body.get("version"),
                                      note=body.get("note"))
        document = issued.to_json()
        document["url"] = f"{public_url.rstrip('/')}/verify/{issued.code}"  # the public page
        response = _json(document, 201)
        response.headers["Location"] = f"{PREFIX}/share-codes/{issued.share.id}"
        return response

    @bp.get("/share-codes")
    @described(Operation("List the caller's share codes", "列出我的分享码", SCOPES,
                         response="ShareCodeList", tags=("sharing",),
                         query=(("record", "string", "only the codes of this record"),)))
    def list_share_codes() -> Response:
        who = caller(*SCOPES)
        record = request.args.get("record")
        shares = share_codes().list(holder_for(who),
                                    record_id=_record_id(record) if record else None)
        return _json({"items": [share.to_json() for share in shares]})

    @bp.delete("/share-codes/<share_id>")
    @described(Operation("Revoke one of the caller's share codes", "撤销分享码", SCOPES,
                         response="ShareCode", tags=("sharing",), errors=(400, 404)))
    def revoke_share_code(share_id: str) -> Response:
        from records.sharing import ShareCodeNotFound

        who = caller(*SCOPES)
        if len(share_id) > 36:
            raise ShareCodeNotFound("no such share code")
        return _json(share_codes().revoke(share_id, holder_for(who)).to_json())

    # -- bulk import (records.importer) ---------------------------------------------------
    @bp.post("/records/imports")
    @described(Operation("Import archive entries from a CSV or XLSX file (all or nothing; "
                         "idempotent)", "从 CSV 或 XLSX 文件批量导入档案条目（全部或全不）",
                         (SUBMIT,), body=None, response="ImportReport", tags=("records",),
                         query=(("dry_run", "boolean", "check only, import nothing"),),
                         errors=(400, 403, 413, 422), extra={"requestBody": {
                             "required": True, "content": {
                                 "text/csv": {"schema": {"type": "string"}},
                                 "application/vnd.openxmlformats-officedocument."
                                 "spreadsheetml.sheet": {"schema": {
                                     "type": "string", "contentMediaType": "application/"
                                     "vnd.openxmlformats-officedocument.spreadsheetml."
                                     "sheet"}},
                                 "multipart/form-data": {"schema": {
                                     "type": "object", "required": ["file"],
                                     "properties": {"file": {
                                         "type": "string",
                                         "contentMediaType": "application/octet-stream"}}}}}}}))
    def import_records() -> Response:
        from records.importer import RowError, import_archive_entries, read_table

        who = caller(SUBMIT)
        actor = issuer_actor(who)
        upload = request.files.get("file")
        data = upload.read() if upload is not None else request.get_data(cache=False)
        name = (upload.filename if upload is not None and upload.filename else "upload")[:100]
        if not data:
            raise _Refusal(422, "records_request_schema", {"errors": [{
                "pointer": "", "message": "send the CSV or XLSX file as the body, or as "
                                          "the multipart field 'file'"}]})
        dry_run = (request.args.get("dry_run") or "").lower() in ("1", "true", "yes")
        try:
            header, body = read_table(data)
            # 一数一源: the directory says whose people they are, not the file.
            rows_out = directory_problems(header, body, actor.org)
            if not rows_out:
                report = import_archive_entries(registry(), data, school=actor.org,
                                                actor_ref=actor.ref, dry_run=dry_run)
            else:
                from records.importer import ImportReport

                report = ImportReport(rows=len(body), dry_run=dry_run,
                                      errors=[RowError(line, key, detail)
                                              for line, key, detail in rows_out])
        except RecordsError as exc:
            from records.importer import ImportFileError

            if isinstance(exc, ImportFileError):
                return problem(422, "records_import_unreadable", extensions={
                    "reason": say(exc.key, **{"path": name, **exc.values})})
            raise
        document = report.as_json(say, include_records=True)
        if not report.ok:
            return problem(422, "records_import_rows", extensions=document,
                           count=len(report.errors))
        return _json(document)

    def directory_problems(header: list[str], body: list[tuple[int, list[str]]],
                           org: str) -> list[tuple[int, str, str]]:
        """Rows whose person the directory does not place in the school they name."""
        if "person" not in header:
            return []  # the importer reports the missing column
        person_at = header.index("person")
        school_at = header.index("school") if "school" in header else None
        found: list[tuple[int, str, str]] = []
        cache: dict[str, set[str] | None] = {}
        for line, cells in body:
            person = cells[person_at].strip() if person_at < len(cells) else ""
            school = (cells[school_at].strip() if school_at is not None
                      and school_at < len(cells) else "") or org
            if not person or len(person) > 200:
                continue  # the importer names that column
            if person not in cache:
                members = people.memberships_of(person)
                cache[person] = None if members is None else {m.org for m in members}
            if cache[person] is None or school not in (cache[person] or set()):
                found.append((line, "records.import.row.not_member", "person"))
        return found

    return bp


class _Unauthenticated(Exception):
    """No usable bearer token (RFC 6750 3.1: an error code only when one was sent)."""

    def __init__(self, *, invalid: bool) -> None:
        super().__init__("unauthenticated")
        self.invalid = invalid
