"""Share codes: a holder shares a record until a time they chose; codes are unguessable,
stored hashed, listed, revocable; expired, revoked and unknown codes open nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from records.errors import NotAuthorised, RecordNotFound
from records.lifecycle import State
from records.sharing import (
    ALPHABET,
    CODE_LENGTH,
    Holder,
    InvalidShareRequest,
    ShareCodeGone,
    ShareCodeNotFound,
    ShareCodeRow,
    ShareCodes,
    new_code,
    normalise_code,
)
from records.verification import Overall
from tests.records.conftest import (
    PROVIDER,
    REVIEWER,
    SCHOOL,
    Desk,
    app_content,
    archive_content,
    create_and_anchor,
    student,
)

PERSON = Holder(person="person-share")


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC).replace(microsecond=0)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture(scope="module")
def entry(desk: Desk) -> str:
    return create_and_anchor(desk, "archive_entry", archive_content(), SCHOOL, REVIEWER,
                             subject=student("person-share")).id


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def codes(desk: Desk, clock: Clock) -> ShareCodes:
    return ShareCodes(desk.store.sessions, desk.registry, clock=clock)


def in_days(clock: Clock, days: float) -> dt.datetime:
    return clock.now + dt.timedelta(days=days)


def test_the_holder_shares_and_a_verifier_sees_the_record_and_its_checks(
        codes: ShareCodes, entry: str, clock: Clock) -> None:
    issued = codes.create(entry, PERSON, expires_at=in_days(clock, 30))

    view = codes.view(issued.code)

    assert view.record.id == entry and view.report.overall is Overall.VALID
    assert view.content == view.record.content
    assert view.share.views == 0 and codes.list(PERSON)[0].views == 1


def test_codes_are_long_unambiguous_and_accepted_in_any_spelling(
        codes: ShareCodes, entry: str, clock: Clock) -> None:
    issued = codes.create(entry, PERSON, expires_at=in_days(clock, 1))
    raw = issued.code.replace("-", "")

    assert len(raw) == CODE_LENGTH >= 12 and set(raw) <= set(ALPHABET)
    assert not set("01ILO") & set(ALPHABET)
    assert codes.open(raw.lower()).id == issued.share.id
    assert codes.open(" ".join(raw[i:i + 4] for i in range(0, 16, 4))).id == issued.share.id
    assert len({new_code() for _ in range(2000)}) == 2000


def test_only_a_hash_of_the_code_is_stored(desk: Desk, codes: ShareCodes, entry: str,
                                           clock: Clock) -> None:
    issued = codes.create(entry, PERSON, expires_at=in_days(clock, 1))
    raw = normalise_code(issued.code)
    assert raw is not None

    with desk.store.sessions() as session:
        row = session.scalars(select(ShareCodeRow).where(
            ShareCodeRow.id == issued.share.id)).one()
    stored = " ".join(str(v) for v in vars(row).values())
    assert raw not in stored and issued.code not in stored
    assert row.hint == raw[:4] and len(row.code_hash) == 64
    assert "code" not in issued.share.to_json()


def test_an_expired_code_opens_nothing(codes: ShareCodes, entry: str, clock: Clock) -> None:
    issued = codes.create(entry, PERSON, expires_at=in_days(clock, 2))
    clock.now = in_days(clock, 2)

    with pytest.raises(ShareCodeGone) as caught:
        codes.view(issued.code)
    assert caught.value.reason == "expired"


def test_a_revoked_code_opens_nothing_and_only_its_holder_can_revoke_it(
        codes: ShareCodes, entry: str, clock: Clock) -> None:
    issued = codes.create(entry, PERSON, expires_at=in_days(clock, 10))

    with pytest.raises(ShareCodeNotFound):
        codes.revoke(issued.share.id, Holder(person="someone-else"))
    codes.open(issued.code)
    revoked = codes.revoke(issued.share.id, PERSON)

    assert revoked.state(clock.now) == "revoked"
    with pytest.raises(ShareCodeGone) as caught:
        codes.open(issued.code)
    assert caught.value.reason == "revoked"


@pytest.mark.parametrize("code", ["", "ABCD", "ABCD-EFGH-JKMN-PQR0", "x" * 5000,
                                  "ABCD-EFGH-JKMN-PQRS"])
def test_unknown_or_malformed_codes_open_nothing(codes: ShareCodes, code: str) -> None:
    with pytest.raises(ShareCodeNotFound):
        codes.open(code)


@pytest.mark.parametrize("days", [-1, 0, 367])
def test_expiry_must_be_in_the_future_and_within_a_year(codes: ShareCodes, entry: str,
                                                        clock: Clock, days: int) -> None:
    with pytest.raises(InvalidShareRequest):
        codes.create(entry, PERSON, expires_at=in_days(clock, days))


def test_a_naive_expiry_time_is_refused(codes: ShareCodes, entry: str, clock: Clock) -> None:
    with pytest.raises(InvalidShareRequest):
        codes.create(entry, PERSON, expires_at=in_days(clock, 3).replace(tzinfo=None))


@pytest.mark.parametrize("holder", [Holder(person="person-0001"), Holder(org="S002"),
                                    Holder(org="EDU11")])
def test_only_the_person_their_school_or_the_issuer_may_share(
        codes: ShareCodes, entry: str, clock: Clock, holder: Holder) -> None:
    with pytest.raises(NotAuthorised):
        codes.create(entry, holder, expires_at=in_days(clock, 3))


def test_the_school_may_share_and_lists_only_its_own_codes(codes: ShareCodes, entry: str,
                                                           clock: Clock) -> None:
    school = Holder(org="S001")
    issued = codes.create(entry, school, expires_at=in_days(clock, 3), note="申请材料")

    listed = codes.list(school)
    assert issued.share.id in [s.id for s in listed]
    assert all(s.holder == school for s in listed)
    assert issued.share.id not in [s.id for s in codes.list(PERSON)]


def test_the_holder_chooses_what_is_shown(codes: ShareCodes, entry: str,
                                          clock: Clock) -> None:
    issued = codes.create(entry, PERSON, expires_at=in_days(clock, 3),
                          fields=["achievement", "awardedDate"])

    view = codes.view(issued.code)

    assert set(view.content) == {"achievement", "awardedDate"}
    assert "recipient" not in view.content and view.report.overall is Overall.VALID
    with pytest.raises(InvalidShareRequest):
        codes.create(entry, PERSON, expires_at=in_days(clock, 3), fields=["salt"])


def test_contact_data_is_never_shown(desk: Desk, codes: ShareCodes, clock: Clock) -> None:
    filing = create_and_anchor(desk, "app_filing", app_content(), PROVIDER, REVIEWER)

    view = codes.view(codes.create(filing.id, Holder(org="AP01"),
                                   expires_at=in_days(clock, 3)).code)

    assert "data_security_contact" not in view.content and "app" in view.content


def test_records_not_on_the_ledger_cannot_be_shared(desk: Desk, codes: ShareCodes,
                                                    clock: Clock) -> None:
    draft = desk.registry.create("archive_entry", archive_content(), actor=SCHOOL,
                                 subject=student("person-share"))
    assert draft.state is State.DRAFT

    with pytest.raises(InvalidShareRequest):
        codes.create(draft.id, PERSON, expires_at=in_days(clock, 3))
    with pytest.raises(RecordNotFound):
        codes.create("00000000-0000-0000-0000-000000000000", PERSON,
                     expires_at=in_days(clock, 3))
