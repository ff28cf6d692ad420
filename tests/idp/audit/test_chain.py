"""The audit chain: recording, verification and every way of tampering with it."""

from __future__ import annotations

import base64
import datetime as dt
import threading

import pytest
from sqlalchemy import delete, select, update

from edutrust.platform import SIGNING_KEY, Platform
from idp.audit import AuditError, AuditLog
from idp.audit.chain import GENESIS, chain_hash, checkpoint_text, entry_document, shorten_ip
from idp.audit.models import AuditCheckpoint, AuditEntry, AuditHead

PERSON = "01890a5d-ac96-774b-bcce-b302099a8057"


@pytest.fixture
def audit(platform: Platform) -> AuditLog:
    return AuditLog(platform.sessions, platform.keys, SIGNING_KEY, checkpoint_every=4)


def _fill(audit: AuditLog, n: int) -> None:
    for i in range(n):
        audit.record("login.failed" if i % 2 else "login.succeeded", person_id=PERSON,
                     client_id="client-a", ip="203.0.113.77", details={"n": i})


def test_entries_chain_from_genesis_and_verify_intact(audit: AuditLog) -> None:
    _fill(audit, 10)
    report = audit.verify()
    assert report.intact and report.entries == 10 and report.head_seq == 10
    assert report.checkpoints == 3        # at 1 (first ever), 5 and 9
    lines = list(audit.entries())
    assert [line["seq"] for line in lines] == list(range(1, 11))
    assert lines[0]["prev_hash"] == GENESIS.hex()
    first = {k: v for k, v in lines[0].items() if k not in ("prev_hash", "hash")}
    assert chain_hash(GENESIS, first).hex() == lines[0]["hash"]
    assert lines[0]["ip"] == "203.0.113.0/24"
    assert [line["seq"] for line in audit.entries(since=7)] == [8, 9, 10]


def test_checkpoints_are_signed_with_the_platform_key(audit: AuditLog,
                                                      platform: Platform) -> None:
    _fill(audit, 5)
    assert audit.checkpoint() is None or True
    cp = audit.checkpoints()[-1]
    public = platform.keys.public_key(SIGNING_KEY)
    public.verify(base64.b64decode(cp["signature"]),
                  checkpoint_text(cp["seq"], bytes.fromhex(cp["head_hash"]), cp["time"]))


def test_ip_addresses_are_kept_shortened() -> None:
    assert shorten_ip("198.51.100.23") == "198.51.100.0/24"
    assert shorten_ip("2001:db8:1:2::99") == "2001:db8:1::/48"
    assert shorten_ip("::ffff:198.51.100.23") == "198.51.100.0/24"
    assert shorten_ip("not an ip") is None and shorten_ip(None) is None


@pytest.mark.parametrize("details", [{"password": "x"}, {"otp": "123456"},
                                     {"refresh_token": "t"}, {"nested": {"id_card": "1"}},
                                     {"phone_number": "13800000000"}, {"username": "alice"},
                                     {"long": "x" * 300}, {"ratio": 0.5}])
def test_details_that_could_hold_secrets_or_identifiers_are_refused(
        audit: AuditLog, details: dict[str, object]) -> None:
    with pytest.raises(AuditError):
        audit.record("login.failed", details=details)
    assert audit.head()[0] == 0


@pytest.mark.parametrize("person_id", ["alice", "110101201001011234", "13800138000"])
def test_person_must_be_an_internal_id(audit: AuditLog, person_id: str) -> None:
    with pytest.raises(AuditError):
        audit.record("login.failed", person_id=person_id)


def test_event_names_are_checked(audit: AuditLog) -> None:
    for bad in ("Login", "login failed", "", "a" * 65, "login."):
        with pytest.raises(AuditError):
            audit.record(bad)


def _tamper(platform: Platform, statement: object) -> None:
    with platform.sessions.begin() as session:
        session.execute(statement)


def test_an_edited_field_is_found(audit: AuditLog, platform: Platform) -> None:
    _fill(audit, 8)
    _tamper(platform, update(AuditEntry).where(AuditEntry.seq == 6)
            .values(client_id="client-b"))
    report = audit.verify()
    assert not report.intact and report.first is not None
    assert (report.first.seq, report.first.reason) == (6, "altered")


def test_edited_details_are_found_even_when_semantically_equal(audit: AuditLog,
                                                               platform: Platform) -> None:
    _fill(audit, 3)
    _tamper(platform, update(AuditEntry).where(AuditEntry.seq == 2)
            .values(details='{ "n": 1 }'))
    assert audit.verify().first.seq == 2  # type: ignore[union-attr]


def test_an_entry_rehashed_after_editing_breaks_the_next_link(audit: AuditLog,
                                                              platform: Platform) -> None:
    _fill(audit, 6)
    with platform.sessions() as session:
        row = session.get(AuditEntry, 3)
        assert row is not None
        prev = bytes.fromhex(row.prev_hash)
    doc = entry_document(3, row.recorded_at, "login.succeeded", None, None, None, {})
    _tamper(platform, update(AuditEntry).where(AuditEntry.seq == 3).values(
        event="login.succeeded", person_id=None, client_id=None, ip=None, details="{}",
        hash=chain_hash(prev, doc).hex()))
    first = audit.verify().first
    assert first is not None and first.seq in (3, 4)


def test_a_deleted_middle_entry_is_found(audit: AuditLog, platform: Platform) -> None:
    _fill(audit, 8)
    _tamper(platform, delete(AuditEntry).where(AuditEntry.seq == 4))
    first = audit.verify().first
    assert first is not None and (first.seq, first.reason) == (4, "missing")


def test_a_tail_deleted_after_a_checkpoint_is_found(audit: AuditLog,
                                                    platform: Platform) -> None:
    _fill(audit, 10)        # checkpoints at 1, 5, 9
    _tamper(platform, delete(AuditEntry).where(AuditEntry.seq >= 7))
    # Even with the head row rewound to match, the checkpoint at 9 points past the end.
    with platform.sessions() as session:
        six = session.get(AuditEntry, 6)
        assert six is not None
    _tamper(platform, update(AuditHead).values(seq=6, hash=six.hash))
    first = audit.verify().first
    assert first is not None and first.seq == 7


def test_a_deleted_tail_is_found_through_the_head(audit: AuditLog,
                                                  platform: Platform) -> None:
    _fill(audit, 7)
    _tamper(platform, delete(AuditEntry).where(AuditEntry.seq == 7))
    first = audit.verify().first
    assert first is not None and (first.seq, first.reason) == (7, "head")


def test_two_swapped_entries_are_found(audit: AuditLog, platform: Platform) -> None:
    _fill(audit, 8)
    with platform.sessions() as session:
        a, b = session.get(AuditEntry, 3), session.get(AuditEntry, 4)
        assert a is not None and b is not None
    columns = ("recorded_at", "event", "person_id", "client_id", "ip", "details",
               "prev_hash", "hash")
    va = {c: getattr(a, c) for c in columns}
    vb = {c: getattr(b, c) for c in columns}
    _tamper(platform, update(AuditEntry).where(AuditEntry.seq == 3).values(**vb))
    _tamper(platform, update(AuditEntry).where(AuditEntry.seq == 4).values(**va))
    first = audit.verify().first
    assert first is not None and first.seq == 3


def test_a_forged_checkpoint_is_found(audit: AuditLog, platform: Platform) -> None:
    _fill(audit, 6)
    from crypto.sm2 import SM2PrivateKey

    forger = SM2PrivateKey.generate()
    with platform.sessions() as session:
        cp = session.scalar(select(AuditCheckpoint).where(AuditCheckpoint.seq == 5))
        assert cp is not None
    forged = forger.sign(checkpoint_text(5, bytes.fromhex(cp.head_hash), cp.signed_at))
    _tamper(platform, update(AuditCheckpoint).where(AuditCheckpoint.seq == 5)
            .values(signature=base64.b64encode(forged).decode()))
    first = audit.verify().first
    assert first is not None and (first.seq, first.reason) == (5, "checkpoint_signature")


def test_a_checkpoint_moved_to_another_time_fails_its_signature(audit: AuditLog,
                                                               platform: Platform) -> None:
    _fill(audit, 2)
    _tamper(platform, update(AuditCheckpoint).where(AuditCheckpoint.seq == 1)
            .values(signed_at="2020-01-01T00:00:00.000000Z"))
    assert audit.verify().first.reason == "checkpoint_signature"  # type: ignore[union-attr]


def test_time_based_checkpoint(platform: Platform) -> None:
    now = [dt.datetime(2026, 1, 1, tzinfo=dt.UTC)]
    audit = AuditLog(platform.sessions, platform.keys, SIGNING_KEY, checkpoint_every=1000,
                     checkpoint_interval=dt.timedelta(minutes=10), clock=lambda: now[0])
    audit.record("logout")
    audit.record("logout")
    now[0] += dt.timedelta(minutes=11)
    audit.record("logout")
    assert [cp["seq"] for cp in audit.checkpoints()] == [1, 3]
    assert audit.checkpoint() is None
    audit.record("logout")
    assert audit.checkpoint() == 4 and audit.verify().intact


def test_concurrent_threads_never_fork_the_chain(platform: Platform) -> None:
    audit = AuditLog(platform.sessions, platform.keys, SIGNING_KEY, checkpoint_every=7)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(15):
                audit.record("login.succeeded", person_id=PERSON)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    report = audit.verify()
    assert report.intact and report.entries == 90 and report.head_seq == 90
