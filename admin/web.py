"""Flask glue of the operator API: clients under ``/api/v1/admin/clients`` and directory
bulk import at ``POST /api/v1/directory/imports`` (docs/api.md). Each view authorises
the Bearer token (``admin.rbac``), calls the core (``admin.clients``, the directory
importer) and answers JSON; every refusal is an RFC 9457 problem in the request's
language, made by the ``problem`` function the composition root passes in."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, Protocol

from flask import Blueprint, Response, request
from sqlalchemy.exc import SQLAlchemyError

from admin import AccessDenied, AdminError
from admin.clients import ClientAdministration, page_bounds
from admin.rbac import (
    ADMIN_SCOPE,
    DIRECTORY_IMPORT_SCOPE,
    PERSON,
    Operator,
    OperatorAuthority,
    OperatorClients,
)
from idp.directory import DirectoryConflict, DirectoryError, ImportFileError
from idp.directory.importer import import_csv
from idp.oauth2.server import Provider

log = logging.getLogger("edutrust.admin")

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_JSON_TYPES = ("application/json", "application/merge-patch+json")
_CSV_TYPES = ("text/csv", "application/csv", "text/plain")
_TRUE, _FALSE = ("1", "true", "yes"), ("0", "false", "no")


class ProblemFactory(Protocol):
    def __call__(self, status: int, slug: str, *, lang: str | None = None,
                 extensions: dict[str, Any] | None = None,
                 **values: object) -> Response: ...


class _Services:
    """Built on first use in each worker, from that worker's provider."""

    def __init__(self, provider: Provider) -> None:
        sessions = provider.directory.sessions
        operators = OperatorClients(sessions)
        self.provider = provider
        self.authority = OperatorAuthority(provider.tokens, provider.clients,
                                           provider.directory, operators)
        self.clients = ClientAdministration(provider.clients, provider.directory, operators)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps(body, ensure_ascii=False), status=status,
                        content_type="application/json")
    response.headers.update({**_NO_STORE, **(headers or {})})
    return response


def _bearer() -> str | None:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return credentials.strip() or None if scheme.lower() == "bearer" else None


def _mimetype() -> str:
    return (request.mimetype or "").lower()


def _json_body() -> Any:
    if _mimetype() not in _JSON_TYPES:
        raise AdminError(415, "admin_json_expected")
    try:
        return json.loads(request.get_data(cache=False) or b"")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        raise AdminError(400, "admin_bad_json", reason=reason) from None


def _csv_body() -> bytes:
    """The uploaded file: the raw body (text/csv) or the ``file`` part of a form."""
    if _mimetype() == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None or len(request.files) != 1:
            raise AdminError(400, "directory_import_no_file")
        return upload.read()
    if _mimetype() not in _CSV_TYPES:
        raise AdminError(415, "directory_import_csv_expected")
    return request.get_data(cache=False)


def _flag(name: str) -> bool:
    value = (request.args.get(name) or "false").lower()
    if value not in _TRUE + _FALSE:
        raise AdminError(400, "admin_bad_flag", name=name)
    return value in _TRUE


def admin_blueprint(provider: Callable[[], Provider], problem: ProblemFactory,
                    translate: Callable[..., str]) -> Blueprint:
    """``provider`` returns this worker's provider; ``translate(key, **values)`` gives a
    catalog message in the current request's language."""
    blueprint = Blueprint("admin_api", __name__)
    built: list[_Services] = []

    def services() -> _Services:
        if not built:
            built.append(_Services(provider()))
        return built[0]

    def refusal(error: AdminError) -> Response:
        values: dict[str, Any] = dict(error.values)
        if error.catalog_reason is not None:
            key, reason_values = error.catalog_reason
            values["reason"] = translate(key, **reason_values)
        response = problem(error.status, error.slug, **values)
        response.headers.update(_NO_STORE)
        if isinstance(error, AccessDenied) and error.challenge:
            response.headers["WWW-Authenticate"] = error.challenge
        return response

    def guarded(*scopes: str) -> Callable[[Callable[..., Response]],
                                          Callable[..., Response]]:
        """Authorise the request for one of ``scopes``; turn refusals into problems."""

        def wrap(view: Callable[..., Response]) -> Callable[..., Response]:
            def run(**kwargs: Any) -> Response:
                try:
                    operator = services().authority.authorise(_bearer(), scopes)
                    return view(operator, **kwargs)
                except AdminError as error:
                    return refusal(error)
                except DirectoryConflict as exc:
                    return problem(409, "directory_import_conflict",
                                   reason=translate(exc.key, **exc.values))
                except SQLAlchemyError:
                    log.exception("admin API: database error")
                    return problem(503, "unavailable")

            run.__name__ = view.__name__
            return run

        return wrap

    def audit(operator: Operator, action: str, client_id: str | None = None,
              **fields: object) -> None:
        """Every change goes to the log and to the hash-chained audit trail (idp.audit),
        with ids only: never a secret, a token or a personal identifier."""
        details = {"operator_kind": operator.kind, "via_client": operator.client_id,
                   **fields}
        log.info("admin action", extra={"fields": {
            "action": action, "operator_id": operator.id, "client_id": client_id,
            **details}})
        trail = services().provider.audit
        if trail is None:
            return
        try:
            trail.record("admin." + action, client_id=client_id, ip=request.remote_addr,
                         person_id=operator.id if operator.kind == PERSON else None,
                         details=details)
        except Exception:  # the change is made; a failed audit write must not hide it
            log.exception("audit write failed")

    # -- clients -------------------------------------------------------------------------
    @guarded(ADMIN_SCOPE)
    def list_clients(operator: Operator) -> Response:
        limit, offset = page_bounds(request.args.get("limit"), request.args.get("offset"))
        views = services().clients.page(limit, offset)
        return _json({"clients": [v.document() for v in views], "limit": limit,
                      "offset": offset})

    @guarded(ADMIN_SCOPE)
    def create_client(operator: Operator) -> Response:
        view = services().clients.create(_json_body())
        client_id = view.client.client_id
        audit(operator, "client.created", client_id, operator_client=view.operator)
        return _json(view.document(), 201,
                     {"Location": f"{request.root_path}/api/v1/admin/clients/{client_id}"})

    @guarded(ADMIN_SCOPE)
    def read_client(operator: Operator, client_id: str) -> Response:
        return _json(services().clients.get(client_id).document())

    @guarded(ADMIN_SCOPE)
    def change_client(operator: Operator, client_id: str) -> Response:
        view = services().clients.update(client_id, _json_body())
        audit(operator, "client.updated", client_id, operator_client=view.operator)
        return _json(view.document())

    @guarded(ADMIN_SCOPE)
    def delete_client(operator: Operator, client_id: str) -> Response:
        services().clients.delete(client_id)
        audit(operator, "client.deleted", client_id)
        return Response(status=204, headers=_NO_STORE)

    @guarded(ADMIN_SCOPE)
    def rotate_secret(operator: Operator, client_id: str) -> Response:
        view = services().clients.rotate_secret(client_id)
        audit(operator, "client.secret_rotated", client_id)
        return _json({"client_id": client_id, "client_secret": view.client_secret})

    # -- directory import ----------------------------------------------------------------
    @guarded(ADMIN_SCOPE, DIRECTORY_IMPORT_SCOPE)
    def import_directory(operator: Operator) -> Response:
        dry_run = _flag("dry_run")
        data = _csv_body()
        try:
            report = import_csv(services().provider.directory, data, dry_run=dry_run)
        except ImportFileError as exc:
            return problem(400, "directory_import_unreadable",
                           reason=translate(exc.key, **exc.values))
        except DirectoryConflict:
            raise
        except DirectoryError as exc:
            return problem(400, "directory_import_unreadable",
                           reason=translate(exc.key, **exc.values))
        body = report.as_json(translate)
        if report.errors:
            return problem(422, "directory_import_rejected", count=len(report.errors),
                           extensions={"report": {k: v for k, v in body.items()
                                                  if k != "errors"},
                                       "errors": body["errors"]})
        if not dry_run:
            audit(operator, "directory.imported", rows=report.rows, created=report.created,
                  updated=report.updated, unchanged=report.unchanged)
        return _json(body, 200)

    rules = [
        ("/api/v1/admin/clients", list_clients, ["GET"]),
        ("/api/v1/admin/clients", create_client, ["POST"]),
        ("/api/v1/admin/clients/<client_id>", read_client, ["GET"]),
        ("/api/v1/admin/clients/<client_id>", change_client, ["PATCH"]),
        ("/api/v1/admin/clients/<client_id>", delete_client, ["DELETE"]),
        ("/api/v1/admin/clients/<client_id>/secret", rotate_secret, ["POST"]),
        ("/api/v1/directory/imports", import_directory, ["POST"]),
    ]
    for path, view, methods in rules:
        blueprint.add_url_rule(path, view.__name__, view, methods=methods)
    return blueprint
