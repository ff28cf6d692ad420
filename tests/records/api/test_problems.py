"""Every problem the records API can answer has a title and a detail in Chinese and
English, and every error of the records core maps to a stable problem type."""

from __future__ import annotations

import re
from pathlib import Path

from edutrust import i18n
from records import errors
from records.web.api import core_problem

WEB = Path(__file__).resolve().parents[3] / "records" / "web"


def test_every_problem_slug_of_the_api_is_in_the_catalog() -> None:
    slugs = set()
    for name in ("api.py", "access.py"):
        source = (WEB / name).read_text()
        slugs |= set(re.findall(r'"((?:records|ledger)_[a-z_]+)"', source))
    slugs -= {"records_api"}  # the blueprint's name
    assert "records_not_found" in slugs and "records_insufficient_scope" in slugs
    for slug in sorted(slugs):
        for part in ("title", "detail"):
            entry = i18n.CATALOG[f"problem.{slug}.{part}"]
            assert entry["zh"] and entry["en"], slug


def test_every_records_error_maps_to_a_problem_below_500_or_503() -> None:
    samples = [errors.SchemaViolation("bad", [("/a", "wrong")]),
               errors.IllegalTransition("draft", "approved", ("submitted",)),
               errors.NotAuthorised("no"), errors.UnknownIssuer("no"),
               errors.RecordNotFound("no"), errors.UnknownSchema("no"),
               errors.MalformedRecord("no"), errors.MalformedBundle("no"),
               errors.CanonicalFormError("no"), errors.AnchoringFailed("no"),
               errors.StatusListError("no"), errors.CredentialError("no"),
               errors.RecordsError("no")]
    seen = set()
    for error in samples:
        status, slug, extensions, values = core_problem(error)
        assert status < 500 or status == 503, slug
        i18n.translate(f"problem.{slug}.detail", "en", **values)
        seen.add(slug)
    assert len(seen) == len(samples)
    status, _, extensions, _ = core_problem(samples[0])
    assert status == 422 and extensions["errors"] == [{"pointer": "/content/a",
                                                      "message": "wrong"}]
