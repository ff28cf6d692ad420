"""The directory service: organisations as a tree, people with sealed identifiers found
through blind indexes, roles, guardians, authentication and OIDC claims."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from idp import passwords
from idp.directory import DirectoryConflict, InvalidCode, NotFound, WeakPassword
from idp.directory.models import Person, new_id
from idp.directory.service import Directory
from tests.idp.directory_fixtures import credit_code, id_card, open_directory

SCHOOL = "3133001234"
BUREAU = credit_code("11330106MB0000000")
PHONE = "13800138000"


@pytest.fixture
def directory(database_url: str) -> Iterator[Directory]:
    directory, engine = open_directory(database_url)
    yield directory
    engine.dispose()


@pytest.fixture
def tree(directory: Directory) -> Directory:
    """Country > Zhejiang > Hangzhou > Xihu district > a school and the district bureau."""
    directory.create_organisation("100000", "中华人民共和国", "national")
    directory.create_organisation("330000", "浙江省", "province", "100000")
    directory.create_organisation("330100", "杭州市", "city", "330000")
    directory.create_organisation("330106", "西湖区", "county", "330100")
    directory.create_organisation(SCHOOL, "西湖区实验小学", "school", "330106")
    directory.create_organisation(BUREAU, "西湖区教育局", "bureau", "330106")
    return directory


def _raw_person(directory: Directory, person_id: str) -> dict[str, object]:
    with directory.sessions() as session:
        row = session.execute(text("SELECT * FROM directory_people WHERE id = :id"),
                              {"id": person_id}).mappings().one()
    return dict(row)


# -- identifiers at rest -----------------------------------------------------------------------

def test_sealed_columns_hold_no_plaintext_identifier(directory: Directory) -> None:
    number = id_card("330106", dt.date(2014, 5, 20), 12)
    person = directory.create_person("li.xiaohua", "李小华", phone="+86 138-0013-8000",
                                     id_card=number)
    raw = _raw_person(directory, person.id)
    stored = " ".join(str(value) for value in raw.values())
    for secret in (PHONE, number, number[:17], "8613800138000"):
        assert secret not in stored
    assert str(raw["phone_sealed"]).startswith("sm4gcm.") and len(str(raw["phone_index"])) == 64
    assert directory.phone_of(person) == PHONE
    assert directory.id_card_of(person) == number


def test_sealed_value_copied_to_another_person_does_not_open(directory: Directory) -> None:
    from crypto.errors import DecryptionError

    first = directory.create_person("first.one", "甲", phone=PHONE)
    second = directory.create_person("second.one", "乙")
    second.phone_sealed = first.phone_sealed
    with pytest.raises(DecryptionError):
        directory.phone_of(second)


def test_people_are_found_by_phone_and_id_card_through_the_blind_index(
        directory: Directory) -> None:
    number = id_card("330106", dt.date(2013, 1, 2), 45)
    child = directory.create_person("wang.xiaoming", "王小明", phone=PHONE, id_card=number)
    parent = directory.create_person("wang.da", "王大", phone="138 0013 8000")
    directory.create_person("someone.else", "路人", phone="13900139000")
    assert [p.id for p in directory.find_by_phone("+8613800138000")] == [child.id, parent.id]
    found = directory.find_by_id_card(number.lower())
    assert found is not None and found.id == child.id
    assert directory.find_by_id_card(id_card("330106", dt.date(2013, 1, 2), 46)) is None
    assert directory.find_by_phone("not a phone") == []
    assert directory.find_by_id_card("123") is None


def test_id_number_sets_the_birth_date_and_must_agree_with_a_given_one(
        directory: Directory) -> None:
    number = id_card("330106", dt.date(2015, 7, 1), 3)
    person = directory.create_person("zhou.yi", "周一", id_card=number)
    assert person.birth_date == dt.date(2015, 7, 1)
    assert directory.age_on(person) == 11
    with pytest.raises(DirectoryConflict) as info:
        directory.create_person("zhou.er", "周二", id_card=id_card("330106",
                                                                 dt.date(2015, 7, 2), 3),
                                birth_date=dt.date(2015, 7, 3))
    assert info.value.key == "directory.birth_date_mismatch"


def test_one_id_number_and_one_student_number_per_person(directory: Directory) -> None:
    number = id_card("330106", dt.date(2012, 2, 2), 8)
    directory.create_person("a.one", "甲", id_card=number, student_number="G1")
    with pytest.raises(DirectoryConflict) as info:
        directory.create_person("b.two", "乙", id_card=number)
    assert info.value.key == "directory.id_card_taken"
    with pytest.raises(DirectoryConflict) as info:
        directory.create_person("c.three", "丙", student_number="g1")
    assert info.value.key == "directory.student_number_taken"
    with pytest.raises(DirectoryConflict) as info:
        directory.create_person("A.One", "甲二")
    assert info.value.key == "directory.username_taken"


def test_update_reseals_changed_identifiers_and_unverifies_a_changed_email(
        directory: Directory) -> None:
    person = directory.create_person("chen.jing", "陈静", email="chen@school.cn",
                                     email_verified=True, phone=PHONE)
    updated = directory.update_person(person.id, phone="13900139000", email="cj@school.cn",
                                      display_name="陈 静")
    assert directory.phone_of(updated) == "13900139000"
    assert directory.find_by_phone(PHONE) == []
    assert updated.email == "cj@school.cn" and updated.email_verified is False
    assert updated.display_name == "陈 静"
    cleared = directory.update_person(person.id, phone=None)
    assert cleared.phone_sealed is None and cleared.phone_index is None
    with pytest.raises(NotFound):
        directory.update_person(new_id(), display_name="nobody")
    with pytest.raises(InvalidCode):
        directory.update_person(person.id, phone="12345")


# -- organisations --------------------------------------------------------------------------

def test_organisation_tree_ancestors_and_descendants(tree: Directory) -> None:
    school = tree.find_organisation(SCHOOL)
    province = tree.find_organisation("330000")
    assert school is not None and province is not None
    assert [o.code for o in tree.ancestors(school)] == ["330106", "330100", "330000", "100000"]
    assert [o.code for o in tree.descendants(province)] == ["330100", "330106",
                                                            *sorted([SCHOOL, BUREAU])]
    assert [o.code for o in tree.children(tree.find_organisation("330106"))] == sorted(
        [SCHOOL, BUREAU])
    assert tree.ancestors(tree.find_organisation("100000")) == []
    assert tree.descendants(school) == []


@pytest.mark.parametrize("code, kind, parent, key", [
    ("330107", "county", "330000", None),                      # a county under a province
    ("320100", "city", "330000", "directory.parent_code_mismatch"),
    ("330200", "city", "330106", "directory.parent_kind"),       # a city under a county
    ("3133009999", "school", SCHOOL, "directory.parent_kind"),  # no school under a school
    ("330108", "county", "999999", "directory.unknown_parent"),
])
def test_organisations_must_fit_the_tree(tree: Directory, code: str, kind: str, parent: str,
                                        key: str | None) -> None:
    if key is None:
        assert tree.create_organisation(code, "某地", kind, parent).code == code
        return
    with pytest.raises((DirectoryConflict, NotFound)) as info:
        tree.create_organisation(code, "某地", kind, parent)
    assert info.value.key == key


def test_organisation_codes_are_checked_against_their_kind(directory: Directory) -> None:
    with pytest.raises(InvalidCode) as info:
        directory.create_organisation("91350100M000100Y44", "某公司", "enterprise")
    assert info.value.key == "code.bad_credit_check"
    with pytest.raises(InvalidCode):
        directory.create_organisation("330106", "某校", "school")


# -- roles and guardians ------------------------------------------------------------------------

def test_roles_are_listed_with_their_organisations(tree: Directory) -> None:
    teacher = tree.create_person("liu.laoshi", "刘老师")
    assert tree.add_membership(teacher.id, SCHOOL, "teacher") is True
    assert tree.add_membership(teacher.id, SCHOOL, "teacher") is False
    assert tree.add_membership(teacher.id, SCHOOL, "staff") is True
    assert tree.roles_of(teacher.id) == [(SCHOOL, "西湖区实验小学", "teacher"),
                                         (SCHOOL, "西湖区实验小学", "staff")]
    with pytest.raises(DirectoryConflict) as info:
        tree.add_membership(teacher.id, "330106", "student")
    assert info.value.key == "directory.role_org_kind"
    with pytest.raises(NotFound):
        tree.add_membership(teacher.id, "3133000000", "teacher")


def test_guardians_must_hold_the_guardian_role_and_guard_a_minor(tree: Directory) -> None:
    child = tree.create_person("zhao.xiao", "赵小", birth_date=dt.date(2016, 4, 1))
    adult = tree.create_person("zhao.da", "赵大", birth_date=dt.date(2000, 1, 1))
    parent = tree.create_person("zhao.mama", "赵妈妈")
    with pytest.raises(DirectoryConflict) as info:
        tree.link_guardian(parent.id, child.id, "mother")
    assert info.value.key == "directory.not_a_guardian"
    tree.add_membership(parent.id, SCHOOL, "guardian")
    assert tree.link_guardian(parent.id, child.id, "mother") is True
    assert tree.link_guardian(parent.id, child.id, "mother") is False
    assert [p.username for p in tree.guardians_of(child.id)] == ["zhao.mama"]
    assert [p.username for p in tree.minors_of(parent.id)] == ["zhao.xiao"]
    with pytest.raises(DirectoryConflict) as info:
        tree.link_guardian(parent.id, adult.id)
    assert info.value.key == "directory.guardian_of_adult"
    with pytest.raises(DirectoryConflict):
        tree.link_guardian(parent.id, parent.id)


def test_age_counts_completed_years(directory: Directory) -> None:
    person = directory.create_person("leap.day", "闰日", birth_date=dt.date(2012, 2, 29))
    assert directory.age_on(person, dt.date(2026, 2, 28)) == 13
    assert directory.age_on(person, dt.date(2026, 3, 1)) == 14
    assert directory.age_on(directory.create_person("no.birthday", "无")) is None
    assert directory.age_on(person) == 14   # on the fixed "today", 2026-09-01


# -- passwords --------------------------------------------------------------------------------

def test_authenticate_accepts_the_password_and_refuses_everything_else(
        directory: Directory) -> None:
    person = directory.create_person("sun.li", "孙丽", password="Hangzhou-2026")
    assert (directory.authenticate("SUN.LI", "Hangzhou-2026") or Person()).id == person.id
    assert directory.authenticate("sun.li", "hangzhou-2026") is None
    assert directory.authenticate("nobody", "Hangzhou-2026") is None
    directory.update_person(person.id, active=False)
    assert directory.authenticate("sun.li", "Hangzhou-2026") is None


def test_unknown_and_passwordless_users_cost_one_hash(directory: Directory,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    directory.create_person("no.password", "无密码")
    calls: list[int] = []
    real = passwords.pbkdf2_hmac_sm3
    monkeypatch.setattr(passwords, "pbkdf2_hmac_sm3",
                        lambda p, s, i, n=32: calls.append(i) or real(p, s, 1000, n))
    assert directory.authenticate("ghost", "whatever-123") is None
    assert directory.authenticate("no.password", "whatever-123") is None
    assert directory.authenticate("bad username!", "whatever-123") is None
    assert calls == [passwords.DEFAULT_ITERATIONS] * 3


def test_login_upgrades_a_hash_with_outdated_parameters(directory: Directory) -> None:
    person = directory.create_person("old.hash", "旧哈希")
    with directory.sessions.begin() as session:
        session.get(Person, person.id).password_hash = passwords.hash_password(
            "Legacy-pass-1", iterations=1_000)
    assert directory.authenticate("old.hash", "Legacy-pass-1") is not None
    stored = directory.person(person.id).password_hash
    assert stored.split("$")[1] == str(passwords.DEFAULT_ITERATIONS)
    assert not passwords.needs_upgrade(stored)
    assert directory.authenticate("old.hash", "Legacy-pass-1") is not None


def test_set_password_enforces_the_policy(directory: Directory) -> None:
    person = directory.create_person("weak.one", "弱")
    with pytest.raises(WeakPassword) as info:
        directory.set_password(person.id, "weak.one2026")
    assert "password.contains_username" in info.value.problems
    directory.set_password(person.id, "Strong-Enough 7")
    assert directory.authenticate("weak.one", "Strong-Enough 7") is not None


# -- claims -------------------------------------------------------------------------------------

def test_claims_follow_the_granted_scopes(tree: Directory) -> None:
    student = tree.create_person("qian.xue", "钱雪", email="QX@Mail.School.cn", phone=PHONE,
                                 student_number="G330106201401010011",
                                 birth_date=dt.date(2014, 1, 1))
    tree.add_membership(student.id, SCHOOL, "student")
    assert tree.claims(student, {"openid"}) == {}
    profile = tree.claims(student, {"openid", "profile"})
    assert profile["name"] == "钱雪" and profile["preferred_username"] == "qian.xue"
    assert isinstance(profile["updated_at"], int) and "email" not in profile
    assert tree.claims(student, {"email"}) == {"email": "QX@mail.school.cn",
                                              "email_verified": False}
    assert tree.claims(student, {"phone"}) == {"phone_number": "+8613800138000",
                                              "phone_number_verified": False}
    edu = tree.claims(student, {"edu"})
    assert edu == {"org": {"code": SCHOOL, "name": "西湖区实验小学"},
                   "school": {"code": SCHOOL, "name": "西湖区实验小学"},
                   "roles": [{"org": SCHOOL, "org_name": "西湖区实验小学", "role": "student"}]}
    with_number = tree.claims(student, {"edu"}, include_student_number=True)
    assert with_number["student_number"] == "G330106201401010011"
    assert "birthdate" not in tree.claims(student, {"profile", "email", "phone", "edu"})


def test_claims_of_a_regulator_name_no_school(tree: Directory) -> None:
    officer = tree.create_person("jian.guan", "监管员")
    tree.add_membership(officer.id, BUREAU, "regulator")
    edu = tree.claims(officer, {"edu", "email", "phone"})
    assert edu == {"org": {"code": BUREAU, "name": "西湖区教育局"},
                   "roles": [{"org": BUREAU, "org_name": "西湖区教育局",
                              "role": "regulator"}]}
