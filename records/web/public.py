"""The public verification page ``/verify/{code}``: what a university or an employer
opens with the share code a holder gave them.

Server-rendered, in Chinese (default) or English (``?lang=en``, OIDC-style
``ui_locales``, or the browser's Accept-Language), printable (print CSS, A4), with a QR
code (SVG, drawn here by ``segno``) that points back to the page's absolute URL. It shows
the record as the holder chose to share it (records.sharing: never the subject's
directory reference, the salt or contact data) and every verification check with its
outcome — the same answer as ``GET /api/v1/records/{id}/verification``.

An unknown code answers 404, an expired or revoked one 410, each with a readable page;
a failure of the database answers 503 with a page. Nothing here answers 500 or shows a
stack trace. The composition root hands in the share-code service, the language
negotiation, the translator and the public base URL: this package never imports
``edutrust``.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import segno
from flask import Blueprint, Response, render_template_string, request
from markupsafe import Markup

from records.errors import RecordNotFound, RecordsError
from records.sharing import ShareCodeGone, ShareCodeNotFound, ShareCodes, normalise_code
from records.timestamps import format_timestamp
from records.verification import CHECKS

log = logging.getLogger("records.web.public")

Translator = Callable[..., str]
_PAGE = Path(__file__).parent / "templates" / "verify_page.html"
# Content members shown first, in this order (archive entries); others follow by name.
_ORDER = ("recipient", "achievement", "result", "creditsEarned", "term",
          "activityStartDate", "activityEndDate", "awardedDate", "narrative", "evidence")
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "img-src data:; form-action 'none'; frame-ancestors 'none'; "
                               "base-uri 'none'",
}


def qr_svg(url: str) -> Markup:
    """An inline SVG QR code of ``url`` (error correction M, no XML declaration)."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", xmldecl=False, svgns=True,
                                   scale=4, border=2, nl=False,
                                   title="QR", svgclass="qr", lineclass=None)
    return Markup(out.getvalue().decode("utf-8"))  # noqa: S704 - segno's own SVG markup


def _label(translate: Translator, key: str, fallback: str) -> str:
    try:
        return translate(key)
    except KeyError:
        return fallback


def _entries(value: Any, translate: Translator, depth: int = 0) -> list[dict[str, Any]]:
    """A nested value as rows of (label, text or child rows) for the template."""
    rows: list[dict[str, Any]] = []
    if isinstance(value, dict):
        names = [n for n in _ORDER if n in value] if depth == 0 else []
        names += sorted(n for n in value if n not in names)
        for name in names:
            label = _label(translate, f"records.page.field.{name}", name)
            rows.append(_row(label, value[name], translate, depth))
    elif isinstance(value, list):
        for index, item in enumerate(value, 1):
            rows.append(_row(f"{index}", item, translate, depth))
    return rows


def _row(label: str, value: Any, translate: Translator, depth: int) -> dict[str, Any]:
    if isinstance(value, (dict, list)):
        return {"label": label, "children": _entries(value, translate, depth + 1)}
    return {"label": label, "text": "" if value is None else str(value)}


def public_blueprint(shares: Callable[[], ShareCodes], *,
                     negotiate: Callable[[str | None], str],
                     translator: Callable[[str], Translator],
                     public_url: str) -> Blueprint:
    """``GET /verify/<code>``. ``shares()`` gives the share-code service (opened lazily
    by the caller), ``negotiate(requested)`` the page language from an explicit choice
    (``lang`` / ``ui_locales``) and the request's Accept-Language, ``translator(lang)``
    a catalog lookup, and ``public_url`` the platform's base URL for the QR code."""
    blueprint = Blueprint("records_public", __name__)
    template = _PAGE.read_text(encoding="utf-8")
    base = public_url.rstrip("/")

    def page(status: int, lang: str, **context: Any) -> Response:
        translate = translator(lang)
        other = "zh" if lang == "en" else "en"
        html = render_template_string(template, t=translate, lang=lang, other_lang=other,
                                      **context)
        response = Response(html, status=status, content_type="text/html; charset=utf-8")
        response.headers["Content-Language"] = lang
        response.headers.update(_HEADERS)
        return response

    def problem_page(status: int, lang: str, reason: str) -> Response:
        return page(status, lang, view=None, reason=reason,
                    switch_url=f"?lang={'zh' if lang == 'en' else 'en'}")

    @blueprint.get("/verify/<path:code>")
    def verify_page(code: str) -> Response:
        lang = negotiate(request.args.get("lang") or request.args.get("ui_locales"))
        normalised = normalise_code(code)
        if normalised is None:
            return problem_page(404, lang, "not_found")
        try:
            view = shares().view(normalised)
        except ShareCodeNotFound:
            return problem_page(404, lang, "not_found")
        except ShareCodeGone as gone:
            return problem_page(410, lang, gone.reason)
        except RecordNotFound:
            return problem_page(410, lang, "record_gone")
        except Exception as exc:  # any other failure: a page, never a 500
            log.warning("verification page unavailable: %s", type(exc).__name__)
            return problem_page(503, lang, "unavailable")
        grouped = "-".join(normalised[i:i + 4] for i in range(0, len(normalised), 4))
        url = f"{base}/verify/{grouped}"
        translate = translator(lang)
        report = view.report
        checks = [{"name": name,
                   "label": _label(translate, f"records.page.check.{name}", name),
                   "outcome": report.checks[name].outcome.value,
                   "code": report.checks[name].code,
                   "detail": report.checks[name].detail} for name in CHECKS
                  if name in report.checks]
        record = view.record
        try:
            issuer_name = shares().registry.issuers.organisation(record.issuer.org).name
        except RecordsError:
            issuer_name = record.issuer.org
        facts = {
            "id": record.id, "version": record.version,
            "type": _label(translate, f"records.page.type.{record.type.value}",
                           record.type.value),
            "issuer": f"{issuer_name}（{record.issuer.org}）" if lang == "zh"
            else f"{issuer_name} ({record.issuer.org})",
            "state": _label(translate, f"records.page.state.{record.state.value}",
                            record.state.value),
            "digest": record.digest,
            "anchor": (f"{record.anchor.channel} · #{record.anchor.block} · "
                       f"{record.anchor.leaf_index}") if record.anchor else "—",
            "valid_from": format_timestamp(record.validity.valid_from),
            "valid_until": (format_timestamp(record.validity.valid_until)
                            if record.validity.valid_until else "—"),
        }
        return page(200, lang, view=view, reason=None, overall=report.overall.value,
                    checks=checks, facts=facts, content=_entries(view.content, translate),
                    checked_at=format_timestamp(report.checked_at),
                    expires_at=format_timestamp(view.share.expires_at),
                    url=url, qr=qr_svg(url), switch_url=f"?lang={'zh' if lang == 'en' else 'en'}")

    return blueprint
