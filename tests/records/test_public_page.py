"""The public verification page ``/verify/{code}``: the shared record and every check in
Chinese or English, printable, with a QR code pointing back to the page; clear 404/410
pages for unknown, expired and revoked codes; nothing a holder did not share. Most tests
use the Flask test client of the real app; one runs against ``edutrust serve``."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient

from edutrust.app import create_app
from records.sharing import Holder, ShareCodes
from records.web.public import qr_svg
from tests.conftest import cli_env, free_port, serving
from tests.records.conftest import REVIEWER, SCHOOL, Desk, archive_content, create_and_anchor

PERSON = "person-page"


@pytest.fixture(scope="module")
def shares(desk: Desk) -> ShareCodes:
    return ShareCodes(desk.store.sessions, desk.registry)


@pytest.fixture(scope="module")
def entry(desk: Desk) -> str:
    from tests.records.conftest import student

    return create_and_anchor(desk, "archive_entry", archive_content(), SCHOOL, REVIEWER,
                             subject=student(PERSON)).id


@pytest.fixture(scope="module")
def client(desk: Desk) -> Iterator[FlaskClient]:
    app = create_app(desk.platform)
    yield app.test_client()


def share(shares: ShareCodes, entry: str, **options: Any) -> str:
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=options.pop("days", 7))
    return shares.create(entry, Holder(person=PERSON), expires_at=expires, **options).code


def test_the_page_shows_the_record_and_every_check_in_chinese_by_default(
        client: FlaskClient, shares: ShareCodes, entry: str) -> None:
    code = share(shares, entry)

    response = client.get(f"/verify/{code}")

    assert response.status_code == 200
    assert response.headers["Content-Language"] == "zh"
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert "有效：本记录通过全部核验" in page
    for label in ("格式", "完整性", "发证机构签名", "发证机构资质", "审核", "账本存证",
                  "有效期", "历史与版本"):
        assert f"<th>{label}" in page
    assert page.count('class="outcome pass"') == 9
    assert "高中数学（必修一）" in page and "北京市第一中学（S001）" in page
    assert "@media print" in page


def test_english_through_lang_ui_locales_or_accept_language(
        client: FlaskClient, shares: ShareCodes, entry: str) -> None:
    code = share(shares, entry)

    for response in (client.get(f"/verify/{code}?lang=en"),
                     client.get(f"/verify/{code}?ui_locales=en-GB"),
                     client.get(f"/verify/{code}", headers={"Accept-Language": "en-US"})):
        assert response.status_code == 200
        assert response.headers["Content-Language"] == "en"
        assert "Valid: this record passed every check" in response.get_data(as_text=True)


def test_the_qr_code_points_back_to_the_page(client: FlaskClient, shares: ShareCodes,
                                             entry: str, desk: Desk) -> None:
    code = share(shares, entry)

    page = client.get(f"/verify/{code.lower()}").get_data(as_text=True)

    url = f"{desk.platform.settings.issuer.rstrip('/')}/verify/{code}"
    assert url in page
    svg = re.search(r"<svg.*?</svg>", page, re.S)
    assert svg is not None and svg.group(0) == str(qr_svg(url))


def test_the_page_shows_only_what_the_holder_chose_and_never_the_person_reference(
        client: FlaskClient, shares: ShareCodes, entry: str, desk: Desk) -> None:
    code = share(shares, entry, fields=["achievement"])

    page = client.get(f"/verify/{code}").get_data(as_text=True)

    assert "高中数学（必修一）" in page
    assert "张三" not in page and PERSON not in page
    from records.digest import encode_salt

    record = desk.registry.get(entry)
    assert record.salt is not None and encode_salt(record.salt) not in page


@pytest.mark.parametrize("code", ["ABCD-EFGH-JKMN-PQRS", "not-a-code", "%3Cscript%3E",
                                  "x" * 300])
def test_an_unknown_code_gives_a_clear_404_page(client: FlaskClient, code: str) -> None:
    response = client.get(f"/verify/{code}")

    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "验证码不存在" in page and "<script>" not in page


def test_a_revoked_code_gives_a_410_page(client: FlaskClient, shares: ShareCodes,
                                         entry: str) -> None:
    issued = shares.create(entry, Holder(person=PERSON),
                           expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    shares.revoke(issued.share.id, Holder(person=PERSON))

    response = client.get(f"/verify/{issued.code}?lang=en")

    assert response.status_code == 410
    assert "The holder has revoked this share code" in response.get_data(as_text=True)


def test_an_expired_code_gives_a_410_page(desk: Desk, entry: str) -> None:
    from flask import Flask

    from edutrust import i18n
    from records.web.public import public_blueprint

    code = share(ShareCodes(desk.store.sessions, desk.registry), entry, days=2)
    later = ShareCodes(desk.store.sessions, desk.registry,
                       clock=lambda: dt.datetime.now(dt.UTC) + dt.timedelta(days=30))
    app = Flask("expired")
    app.register_blueprint(public_blueprint(
        lambda: later, negotiate=lambda chosen: chosen or "zh", translator=i18n.translator,
        public_url="http://127.0.0.1:8000"))

    response = app.test_client().get(f"/verify/{code}")

    assert response.status_code == 410
    assert "验证码已过期" in response.get_data(as_text=True)


def test_the_page_is_served_by_edutrust_serve(desk: Desk, shares: ShareCodes,
                                              entry: str) -> None:
    code = share(shares, entry)
    port = free_port()
    settings = desk.platform.settings
    with serving(cli_env(settings, EDUTRUST_ISSUER=f"http://127.0.0.1:{port}"), port,
                 workers=1) as server:
        ok = requests.get(f"{server.base_url}/verify/{code}?lang=en", timeout=30)
        missing = requests.get(f"{server.base_url}/verify/ABCD-EFGH-JKMN-PQRS", timeout=30)

    assert ok.status_code == 200 and "Valid: this record passed every check" in ok.text
    assert f"http://127.0.0.1:{port}/verify/{code}" in ok.text
    assert missing.status_code == 404 and "验证码不存在" in missing.text


def test_record_values_are_escaped_and_the_page_runs_no_script(
        desk: Desk, client: FlaskClient, shares: ShareCodes) -> None:
    from tests.records.conftest import student

    content = archive_content()
    content["recipient"]["name"] = '<script>alert("x")</script>'
    record = create_and_anchor(desk, "archive_entry", content, SCHOOL, REVIEWER,
                               subject=student(PERSON))

    response = client.get(f"/verify/{share(shares, record.id)}")

    page = response.get_data(as_text=True)
    assert "<script>" not in page and "&lt;script&gt;" in page
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert response.headers["X-Robots-Tag"].startswith("noindex")
