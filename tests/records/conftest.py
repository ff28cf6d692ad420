"""A records desk on the platform fixture: the embedded ledger, the platform root CA, and
registered organisations — two schools, a rights holder, an app provider, the Beijing
education department (reviews, region 11) and the national regulator (credit records)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from crypto.sm2 import SM2PublicKey
from crypto.sm3 import sm3
from crypto.x509 import Certificate, CertificateAuthority
from edutrust.ledger_setup import load_organisations, open_channel
from edutrust.platform import CA_KEY, ROOT_CA, Platform, initialise
from edutrust.settings import Settings
from ledger.channel import Channel
from records.anchoring import RecordAnchoring
from records.envelope import Record, Subject, SubjectKind
from records.issuers import IssuerRegistry
from records.lifecycle import Actor
from records.registry import RecordRegistry
from records.schema import with_check_character
from records.store import RecordStore
from tests.conftest import PG_URL, REDIS_URL

PROVIDER_CODE = with_check_character("91110108MA01ABCDE")
OTHER_PROVIDER_CODE = with_check_character("91310115MA1K4XYW0")

SCHOOL = Actor("staff-001", "school_staff", "S001")
OTHER_SCHOOL = Actor("staff-777", "school_staff", "S002")
RIGHTS_HOLDER = Actor("editor-01", "rights_manager", "RH01")
PROVIDER = Actor("filer-01", "app_provider", "AP01")
REVIEWER = Actor("officer-11", "reviewer", "EDU11")
OTHER_REVIEWER = Actor("officer-31", "reviewer", "EDU31")
REGULATOR = Actor("inspector-1", "regulator", "MOE")


@dataclass
class Desk:
    platform: Platform
    channel: Channel
    registry: RecordRegistry
    issuers: IssuerRegistry
    store: RecordStore


def open_registry(platform: Platform, channel: Channel, **options: Any) -> RecordRegistry:
    """How the composition root wires the records core to a platform."""
    client = load_organisations(platform)["Operator"].role("client")
    root_pem = platform.certificate_pem(ROOT_CA)
    assert root_pem is not None
    root = CertificateAuthority(Certificate.from_pem(root_pem.encode()),
                                platform.keys.sm2(CA_KEY))
    store = RecordStore(platform.sessions, sealer=platform.fields)
    issuers = IssuerRegistry(store, platform.keys, root)
    return RecordRegistry(store, issuers, RecordAnchoring(channel, client), **options)


@pytest.fixture(scope="module")
def shared_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """One platform for a whole test module (the records tests only read what they
    created, so they can share it; initialising a platform costs seconds)."""
    base = tmp_path_factory.mktemp("records")
    schema = None
    if PG_URL:
        schema = "t_" + uuid.uuid4().hex[:16]
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in PG_URL else "?"
        url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{base / 'edutrust.db'}"
    settings = Settings(home=base / "home", database_url=url, redis_url=REDIS_URL,
                        issuer="http://127.0.0.1:8000", master_key_b64=None, lang="en",
                        log_level="INFO")
    platform = initialise(settings, lambda key, **values: None)
    try:
        yield platform
    finally:
        platform.engine.dispose()
        if schema is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


@pytest.fixture(scope="module")
def desk(shared_platform: Platform) -> Iterator[Desk]:
    platform = shared_platform
    channel = open_channel(platform)
    registry = open_registry(platform, channel)
    issuers = registry.issuers
    issuers.register("S001", "北京市第一中学", "school", issues=["archive_entry"])
    issuers.register("S002", "上海市第二中学", "school", issues=["archive_entry"])
    issuers.register("RH01", "人民教育出版社", "rights_holder",
                     issues=["copyright_registration"])
    issuers.register("AP01", "某某教育科技有限公司", "app_provider", issues=["app_filing"])
    issuers.register("EDU11", "北京市教育委员会", "education_department",
                     reviews=["archive_entry", "copyright_registration", "app_filing"],
                     region="11")
    issuers.register("EDU31", "上海市教育委员会", "education_department",
                     reviews=["app_filing"], region="31")
    issuers.register("MOE", "教育部", "regulator", issues=["credit_record"],
                     reviews=["credit_record", "app_filing", "archive_entry",
                              "copyright_registration"], region="11")
    yield Desk(platform, channel, registry, issuers, registry.store)
    channel.close()


@pytest.fixture(scope="module")
def anchors(desk: Desk) -> dict[str, Any]:
    """What a verifier pinned once: published by the platform, kept as plain JSON."""
    return json.loads(json.dumps(desk.registry.trust_anchors().to_json()))


@pytest.fixture
def sm2_verified(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The data of every SM2 verification made while the test runs, in order (each still
    verified for real)."""
    calls: list[bytes] = []
    original = SM2PublicKey.verify

    def counting(self: SM2PublicKey, signature: bytes, data: bytes, **kwargs: Any) -> None:
        calls.append(data)
        original(self, signature, data, **kwargs)

    monkeypatch.setattr(SM2PublicKey, "verify", counting)
    return calls


def archive_content() -> dict[str, Any]:
    return {
        "recipient": {"name": "张三", "role": "student"},
        "achievement": {"achievementType": "Course", "name": "高中数学（必修一）",
                        "criteria": {"narrative": "完成全部课程并通过期末考试"},
                        "creditsAvailable": 2.5},
        "result": [{"resultDescription": "期末成绩", "value": "A", "status": "Completed"}],
        "creditsEarned": 2.5,
        "term": "2025-2026 学年第一学期",
        "activityStartDate": "2025-09-01",
        "activityEndDate": "2026-01-20",
        "awardedDate": "2026-01-25",
        "evidence": [{"name": "成绩单.pdf", "sm3": sm3(b"transcript").hex(), "size": 10}],
    }


def copyright_content(payload: bytes = b"the video bytes") -> dict[str, Any]:
    return {
        "title": "高中物理实验微课",
        "category": "video",
        "authors": [{"name": "李四", "role": "主讲"}],
        "rights_holders": [{"kind": "organisation", "name": "人民教育出版社"}],
        "created_on": "2025-05-01",
        "first_published_on": "2025-06-01",
        "content": {"sm3": sm3(payload).hex(), "size": len(payload),
                    "media_type": "video/mp4"},
        "licence": {"id": "CC-BY-NC-4.0"},
    }


def app_content(province: str = "11", code: str = PROVIDER_CODE) -> dict[str, Any]:
    return {
        "provider": {"name": "某某教育科技有限公司", "credit_code": code,
                     "province": province},
        "app": {"name": "智慧课堂", "package_id": "com.example.smartclass", "version": "2.1.0",
                "platforms": ["android", "ios"], "category": "teaching",
                "user_groups": ["students", "teachers"]},
        "icp_filing_number": "京ICP备12345678号-1",
        "security_protection": {"level": 3, "certificate_number": "11010813001-21001"},
        "evidence": [{"name": "等保证书.pdf", "sm3": sm3(b"cert").hex(), "size": 4}],
        "privacy_policy": {"url": "https://example.com/privacy",
                           "sm3": sm3(b"policy").hex()},
        "data_security_contact": {"name": "王五", "phone": "+86 10 1234 5678",
                                  "email": "security@example.com"},
    }


def credit_content(kind: str = "warning", code: str = PROVIDER_CODE) -> dict[str, Any]:
    return {
        "credit_code": code,
        "provider_name": "某某教育科技有限公司",
        "kind": kind,
        "basis": {"regulation": "教育移动互联网应用程序备案管理办法 第十五条",
                  "description": "未按要求更新隐私政策"},
        "period": {"from": "2026-01-01", "until": "2026-12-31"},
    }


def student(ref: str = "person-0001", org: str = "S001") -> Subject:
    return Subject(SubjectKind.PERSON, ref, org)


def create_and_anchor(desk: Desk, record_type: str, content: dict[str, Any], issuer: Actor,
                      reviewer: Actor, subject: Subject | None = None,
                      valid_until: dt.datetime | None = None) -> Record:
    """draft -> submitted -> under_review -> approved -> anchored (active)."""
    registry = desk.registry
    record = registry.create(record_type, content, actor=issuer, subject=subject,
                             valid_until=valid_until)
    registry.submit(record.id, actor=issuer)
    registry.start_review(record.id, actor=reviewer)
    registry.approve(record.id, actor=reviewer, comment="材料齐全")
    [anchored] = registry.anchor([record.id])
    return anchored
