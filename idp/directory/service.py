"""The directory service: what login, the OIDC provider, the admin console and the bulk
import call to read and change organisations, people, roles and guardians.

Phone and ID-card numbers are sealed with the platform's ``FieldCipher`` under associated
data naming the person and the column, and found again through their blind index; they
are opened only to build a claim the person agreed to share. ``authenticate`` spends one
PBKDF2 whatever happens, so timing does not reveal which usernames exist, and re-hashes
passwords stored with outdated parameters.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from crypto.fields import FieldCipher
from idp import passwords
from idp.directory import DirectoryConflict, DirectoryError, InvalidCode, NotFound, WeakPassword
from idp.directory.codes import (
    DIVISION_LEVELS,
    birth_date_of_id_card,
    compact_code,
    division_prefix,
    normalise_email,
    normalise_id_card,
    normalise_org_code,
    normalise_phone,
    normalise_student_number,
    normalise_username,
    phone_e164,
)
from idp.directory.models import (
    ID_CARD,
    ORG_KINDS,
    PHONE,
    RELATIONS,
    ROLES,
    GuardianLink,
    Membership,
    Organisation,
    Person,
    new_id,
    sealed_context,
    utcnow,
)

ADULT_AGE = 18
# Roles tied to a kind of organisation: a student is a student *of a school*.
ROLE_ORG_KINDS: dict[str, tuple[str, ...]] = {
    "student": ("school",),
    "teacher": ("school",),
    "guardian": ("school",),
    "regulator": ("national", "province", "city", "county", "bureau"),
}
# Scopes that release claims (openid itself releases only ``sub``, which the OIDC
# provider computes per client).
PROFILE, EMAIL, PHONE_SCOPE, EDU = "profile", "email", "phone", "edu"

_UNSET: Any = object()


def parent_problem(kind: str, code: str, parent_kind: str | None,
                   parent_code: str | None) -> str | None:
    """Why an organisation of ``kind``/``code`` cannot sit under that parent (a catalog
    key), or ``None``. Divisions nest national > province > city > county with matching
    code prefixes; schools, bureaus and enterprises hang under a division or a bureau."""
    if parent_kind is None or parent_code is None:
        return None
    if kind == "national":
        return "directory.parent_kind"
    if kind in DIVISION_LEVELS:
        if parent_kind not in DIVISION_LEVELS or (
                DIVISION_LEVELS.index(parent_kind) >= DIVISION_LEVELS.index(kind)):
            return "directory.parent_kind"
        if not code.startswith(division_prefix(parent_code)):
            return "directory.parent_code_mismatch"
        return None
    if parent_kind not in (*DIVISION_LEVELS, "bureau"):
        return "directory.parent_kind"
    return None


def role_problem(role: str, org_kind: str) -> str | None:
    """Why ``role`` cannot be held in an organisation of ``org_kind``, or ``None``."""
    if role not in ROLES:
        return "directory.bad_role"
    allowed = ROLE_ORG_KINDS.get(role)
    if allowed is not None and org_kind not in allowed:
        return "directory.role_org_kind"
    return None


def years_between(born: dt.date, day: dt.date) -> int:
    """Completed years from ``born`` to ``day`` (a 29 February birthday counts on 1 March
    in common years)."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def clean_name(value: str) -> str:
    """A display or organisation name: trimmed, 1 to 200 characters, no control
    characters (a line break in a name breaks every page and CSV export that shows it)."""
    name = value.strip()
    if not name or len(name) > 200 or any(unicodedata.category(ch) == "Cc" for ch in name):
        raise DirectoryError("directory.bad_name")
    return name


def age_on(person: Person, day: dt.date) -> int | None:
    """Completed years of age on ``day``; ``None`` when the birth date is unknown."""
    return None if person.birth_date is None else years_between(person.birth_date, day)


class Directory:
    """Organisations, people, memberships and guardians on one database.

    ``sessions`` should not expire objects on commit (``edutrust.database.session_factory``
    does not): the people and organisations returned are detached snapshots.
    """

    def __init__(self, sessions: sessionmaker[Session], fields: FieldCipher, *,
                 today: Callable[[], dt.date] = dt.date.today) -> None:
        self.sessions = sessions
        self.fields = fields
        self.today = today

    # -- identifiers -------------------------------------------------------------------

    def phone_index(self, phone: str) -> str:
        return self.fields.blind_index(phone, PHONE)

    def id_card_index(self, id_card: str) -> str:
        return self.fields.blind_index(id_card, ID_CARD)

    def seal_phone(self, person_id: str, phone: str,
                   index: str | None = None) -> tuple[str, str]:
        """(sealed, blind index) of a normalised phone number for ``person_id``
        (``index`` when the caller computed it already)."""
        return (self.fields.seal(phone, sealed_context(person_id, PHONE)),
                index or self.phone_index(phone))

    def seal_id_card(self, person_id: str, id_card: str,
                     index: str | None = None) -> tuple[str, str]:
        return (self.fields.seal(id_card, sealed_context(person_id, ID_CARD)),
                index or self.id_card_index(id_card))

    def phone_of(self, person: Person) -> str | None:
        """The person's phone number (eleven digits), opened from its sealed column."""
        if person.phone_sealed is None:
            return None
        return self.fields.open(person.phone_sealed, sealed_context(person.id, PHONE))

    def id_card_of(self, person: Person) -> str | None:
        if person.id_card_sealed is None:
            return None
        return self.fields.open(person.id_card_sealed, sealed_context(person.id, ID_CARD))

    # -- organisations -----------------------------------------------------------------

    def create_organisation(self, code: str, name: str, kind: str,
                            parent_code: str | None = None) -> Organisation:
        """A new organisation; its code is checked against its kind and its parent."""
        if kind not in ORG_KINDS:
            raise InvalidCode("code.bad_kind")
        code = normalise_org_code(kind, code)
        name = clean_name(name)
        with self.sessions.begin() as session:
            if self._org_by_code(session, code) is not None:
                raise DirectoryConflict("directory.org_exists", code=code)
            parent = None
            if parent_code:
                parent = self._org_by_code(session, compact_code(parent_code))
                if parent is None:
                    raise NotFound("directory.unknown_parent", code=parent_code)
                problem = parent_problem(kind, code, parent.kind, parent.code)
                if problem:
                    raise DirectoryConflict(problem, code=code)
            org = Organisation(id=new_id(), code=code, name=name, kind=kind,
                               parent_id=parent.id if parent else None, created_at=utcnow())
            session.add(org)
        return org

    @staticmethod
    def _org_by_code(session: Session, code: str) -> Organisation | None:
        return session.scalar(select(Organisation).where(Organisation.code == code))

    def find_organisation(self, code: str) -> Organisation | None:
        with self.sessions() as session:
            return self._org_by_code(session, compact_code(code))

    def organisation(self, org_id: str) -> Organisation | None:
        with self.sessions() as session:
            return session.get(Organisation, org_id)

    def children(self, org: Organisation) -> list[Organisation]:
        with self.sessions() as session:
            return list(session.scalars(select(Organisation)
                                        .where(Organisation.parent_id == org.id)
                                        .order_by(Organisation.code)))

    def ancestors(self, org: Organisation) -> list[Organisation]:
        """The parent, its parent, ... up to the root (nearest first)."""
        found: list[Organisation] = []
        seen = {org.id}
        with self.sessions() as session:
            parent_id = org.parent_id
            while parent_id is not None and parent_id not in seen:
                parent = session.get(Organisation, parent_id)
                if parent is None:
                    break
                found.append(parent)
                seen.add(parent.id)
                parent_id = parent.parent_id
        return found

    def descendants(self, org: Organisation) -> list[Organisation]:
        """Every organisation below ``org``, level by level (codes sorted per level)."""
        found: list[Organisation] = []
        seen = {org.id}
        level = [org.id]
        with self.sessions() as session:
            while level:
                rows = list(session.scalars(
                    select(Organisation).where(Organisation.parent_id.in_(level))
                    .order_by(Organisation.code)))
                rows = [row for row in rows if row.id not in seen]
                found.extend(rows)
                seen.update(row.id for row in rows)
                level = [row.id for row in rows]
        return found

    # -- people ------------------------------------------------------------------------

    def create_person(self, username: str, display_name: str, *, email: str | None = None,
                      email_verified: bool = False, phone: str | None = None,
                      id_card: str | None = None, student_number: str | None = None,
                      birth_date: dt.date | None = None, password: str | None = None,
                      active: bool = True) -> Person:
        """A new person. Identifiers are normalised and checked; an ID number fills the
        birth date when none is given and must agree with it otherwise."""
        username = normalise_username(username)
        display_name = clean_name(display_name)
        person_id = new_id()
        person = Person(id=person_id, username=username, display_name=display_name,
                        email=normalise_email(email) if email else None,
                        email_verified=bool(email) and email_verified,
                        student_number=(normalise_student_number(student_number)
                                        if student_number else None),
                        birth_date=birth_date, active=active, created_at=utcnow(),
                        updated_at=utcnow())
        if phone:
            person.phone_sealed, person.phone_index = self.seal_phone(
                person_id, normalise_phone(phone))
        if id_card:
            number = normalise_id_card(id_card, today=self.today())
            person.birth_date = self._birth_date(number, birth_date)
            person.id_card_sealed, person.id_card_index = self.seal_id_card(person_id, number)
        if password is not None:
            self._check_policy(password, username, display_name)
            person.password_hash = passwords.hash_password(password)
        with self.sessions.begin() as session:
            self._check_unique(session, person)
            session.add(person)
            try:
                session.flush()
            except IntegrityError:
                raise DirectoryConflict("directory.person_conflict") from None
        return person

    def update_person(self, person_id: str, *, display_name: str = _UNSET,
                      email: str | None = _UNSET, email_verified: bool = _UNSET,
                      phone: str | None = _UNSET, id_card: str | None = _UNSET,
                      student_number: str | None = _UNSET, birth_date: dt.date | None = _UNSET,
                      active: bool = _UNSET) -> Person:
        """Change the fields given (``None`` clears an optional one). A changed email is
        unverified unless ``email_verified`` says otherwise."""
        with self.sessions.begin() as session:
            person = session.get(Person, person_id)
            if person is None:
                raise NotFound("directory.unknown_person")
            if display_name is not _UNSET:
                person.display_name = clean_name(display_name)
            if email is not _UNSET:
                new_email = normalise_email(email) if email else None
                if new_email != person.email:
                    person.email, person.email_verified = new_email, False
            if email_verified is not _UNSET:
                person.email_verified = bool(email_verified) and person.email is not None
            if phone is not _UNSET:
                if phone:
                    person.phone_sealed, person.phone_index = self.seal_phone(
                        person.id, normalise_phone(phone))
                else:
                    person.phone_sealed = person.phone_index = None
            if birth_date is not _UNSET:
                person.birth_date = birth_date
            if id_card is not _UNSET:
                if id_card:
                    number = normalise_id_card(id_card, today=self.today())
                    person.birth_date = self._birth_date(
                        number, birth_date if birth_date is not _UNSET else None)
                    person.id_card_sealed, person.id_card_index = self.seal_id_card(
                        person.id, number)
                else:
                    person.id_card_sealed = person.id_card_index = None
            if student_number is not _UNSET:
                person.student_number = (normalise_student_number(student_number)
                                         if student_number else None)
            if active is not _UNSET:
                person.active = bool(active)
            if session.is_modified(person):
                person.updated_at = utcnow()
            self._check_unique(session, person)
            try:
                session.flush()
            except IntegrityError:
                raise DirectoryConflict("directory.person_conflict") from None
        return person

    @staticmethod
    def _birth_date(id_card: str, stated: dt.date | None) -> dt.date:
        born = birth_date_of_id_card(id_card)
        if stated is not None and stated != born:
            raise DirectoryConflict("directory.birth_date_mismatch")
        return born

    @staticmethod
    def _check_unique(session: Session, person: Person) -> None:
        """Friendly conflicts before the database's unique constraints fire."""
        checks = ((Person.username, person.username, "directory.username_taken"),
                  (Person.id_card_index, person.id_card_index, "directory.id_card_taken"),
                  (Person.student_number, person.student_number,
                   "directory.student_number_taken"))
        with session.no_autoflush:
            for column, value, key in checks:
                if value is None:
                    continue
                other = session.scalar(select(Person.id).where(column == value,
                                                               Person.id != person.id))
                if other is not None:
                    raise DirectoryConflict(key)

    def person(self, person_id: str) -> Person | None:
        with self.sessions() as session:
            return session.get(Person, person_id)

    def find_by_username(self, username: str) -> Person | None:
        try:
            name = normalise_username(username)
        except InvalidCode:
            return None
        with self.sessions() as session:
            return session.scalar(select(Person).where(Person.username == name))

    def find_by_phone(self, phone: str) -> list[Person]:
        """Everyone registered with this phone number (several people may share one, e.g.
        a child listed with a parent's number), oldest account first."""
        try:
            number = normalise_phone(phone)
        except InvalidCode:
            return []
        with self.sessions() as session:
            return list(session.scalars(select(Person)
                                        .where(Person.phone_index == self.phone_index(number))
                                        .order_by(Person.created_at, Person.id)))

    def find_by_id_card(self, id_card: str) -> Person | None:
        try:
            number = normalise_id_card(id_card, today=self.today())
        except InvalidCode:
            return None
        with self.sessions() as session:
            return session.scalar(select(Person).where(
                Person.id_card_index == self.id_card_index(number)))

    # -- roles and guardians -----------------------------------------------------------

    def add_membership(self, person_id: str, org_code: str, role: str) -> bool:
        """Give ``person_id`` ``role`` in the organisation; ``False`` if already held."""
        with self.sessions.begin() as session:
            org = self._org_by_code(session, compact_code(org_code))
            if org is None:
                raise NotFound("directory.unknown_org", code=org_code)
            if session.get(Person, person_id) is None:
                raise NotFound("directory.unknown_person")
            problem = role_problem(role, org.kind)
            if problem:
                raise DirectoryConflict(problem, role=role)
            if session.get(Membership, (person_id, org.id, role)) is not None:
                return False
            session.add(Membership(person_id=person_id, organisation_id=org.id, role=role,
                                   created_at=utcnow()))
        return True

    def remove_membership(self, person_id: str, org_code: str, role: str) -> bool:
        with self.sessions.begin() as session:
            org = self._org_by_code(session, compact_code(org_code))
            row = session.get(Membership, (person_id, org.id, role)) if org else None
            if row is None:
                return False
            session.delete(row)
        return True

    def roles_of(self, person_id: str) -> list[tuple[str, str, str]]:
        """(organisation code, organisation name, role), oldest membership first."""
        with self.sessions() as session:
            rows = session.execute(
                select(Organisation.code, Organisation.name, Membership.role)
                .join(Organisation, Organisation.id == Membership.organisation_id)
                .where(Membership.person_id == person_id)
                .order_by(Membership.created_at, Organisation.code, Membership.role))
            return [(code, name, role) for code, name, role in rows]

    def link_guardian(self, guardian_id: str, minor_id: str,
                      relation: str = "guardian") -> bool:
        """Record ``guardian_id`` as a guardian of ``minor_id``; ``False`` if already so.
        The guardian must hold the guardian role somewhere, and the minor must not be
        known to be an adult."""
        if relation not in RELATIONS:
            raise DirectoryError("directory.bad_relation")
        if guardian_id == minor_id:
            raise DirectoryConflict("directory.guardian_of_self")
        with self.sessions.begin() as session:
            minor = session.get(Person, minor_id)
            if minor is None or session.get(Person, guardian_id) is None:
                raise NotFound("directory.unknown_person")
            is_guardian = session.scalar(select(Membership.person_id).where(
                Membership.person_id == guardian_id, Membership.role == "guardian").limit(1))
            if is_guardian is None:
                raise DirectoryConflict("directory.not_a_guardian")
            age = age_on(minor, self.today())
            if age is not None and age >= ADULT_AGE:
                raise DirectoryConflict("directory.guardian_of_adult")
            if session.get(GuardianLink, (guardian_id, minor_id)) is not None:
                return False
            session.add(GuardianLink(guardian_id=guardian_id, minor_id=minor_id,
                                     relation=relation, created_at=utcnow()))
        return True

    def guardians_of(self, minor_id: str) -> list[Person]:
        with self.sessions() as session:
            return list(session.scalars(
                select(Person).join(GuardianLink, GuardianLink.guardian_id == Person.id)
                .where(GuardianLink.minor_id == minor_id).order_by(GuardianLink.created_at)))

    def minors_of(self, guardian_id: str) -> list[Person]:
        with self.sessions() as session:
            return list(session.scalars(
                select(Person).join(GuardianLink, GuardianLink.minor_id == Person.id)
                .where(GuardianLink.guardian_id == guardian_id)
                .order_by(GuardianLink.created_at)))

    def age_on(self, person: Person, day: dt.date | None = None) -> int | None:
        """Completed years on ``day`` (today by default); ``None`` if not known."""
        return age_on(person, day or self.today())

    # -- passwords ---------------------------------------------------------------------

    def authenticate(self, username: str, password: str) -> Person | None:
        """The active person whose password this is, else ``None``. Unknown, disabled
        and password-less accounts cost the same one PBKDF2 as a wrong password. A
        password stored with outdated parameters is re-hashed on success."""
        person = self.find_by_username(username)
        if person is None or not person.active or person.password_hash is None:
            passwords.verify_password(password, passwords.DUMMY_HASH)
            return None
        stored = person.password_hash
        if not passwords.verify_password(password, stored):
            return None
        if passwords.needs_upgrade(stored):
            upgraded = passwords.hash_password(password)
            with self.sessions.begin() as session:
                # Only if nobody changed the password in between.
                session.execute(update(Person)
                                .where(Person.id == person.id, Person.password_hash == stored)
                                .values(password_hash=upgraded))
            person.password_hash = upgraded
        return person

    def set_password(self, person_id: str, password: str, *,
                     enforce_policy: bool = True) -> None:
        """Replace the person's password (checked against the policy unless told not)."""
        with self.sessions.begin() as session:
            person = session.get(Person, person_id)
            if person is None:
                raise NotFound("directory.unknown_person")
            if enforce_policy:
                self._check_policy(password, person.username, person.display_name)
            person.password_hash = passwords.hash_password(password)
            person.updated_at = utcnow()

    def clear_password(self, person_id: str) -> None:
        with self.sessions.begin() as session:
            session.execute(update(Person).where(Person.id == person_id)
                            .values(password_hash=None, updated_at=utcnow()))

    @staticmethod
    def _check_policy(password: str, username: str, display_name: str) -> None:
        problems = passwords.check_password_policy(password, username=username,
                                                   display_name=display_name)
        if problems:
            raise WeakPassword(problems)

    # -- claims ------------------------------------------------------------------------

    def claims(self, person: Person, scopes: Iterable[str], *,
               include_student_number: bool = False) -> dict[str, Any]:
        """OIDC claims about ``person`` for the granted ``scopes`` (``sub`` excluded: the
        provider computes it per client).

        - ``profile``: ``name``, ``preferred_username``, ``updated_at``
        - ``email``: ``email``, ``email_verified`` (when an email is on file)
        - ``phone``: ``phone_number`` (E.164), ``phone_number_verified``
        - ``edu``: ``org`` {code, name} of the oldest membership, ``roles`` [{org,
          org_name, role}], ``school`` {code, name} for students and teachers, and
          ``student_number`` only when ``include_student_number`` (a client permission).
        """
        granted = set(scopes)
        out: dict[str, Any] = {}
        if PROFILE in granted:
            out["name"] = person.display_name
            out["preferred_username"] = person.username
            updated = person.updated_at
            if updated.tzinfo is None:   # SQLite hands back naive UTC
                updated = updated.replace(tzinfo=dt.UTC)
            out["updated_at"] = int(updated.timestamp())
        if EMAIL in granted and person.email:
            out["email"] = person.email
            out["email_verified"] = bool(person.email_verified)
        if PHONE_SCOPE in granted and person.phone_sealed:
            phone = self.phone_of(person)
            if phone:
                out["phone_number"] = phone_e164(phone)
                # No SMS verification yet: a number on file is not a verified number.
                out["phone_number_verified"] = False
        if EDU in granted:
            out.update(self._edu_claims(person, include_student_number))
        return out

    def _edu_claims(self, person: Person, include_student_number: bool) -> dict[str, Any]:
        with self.sessions() as session:
            rows = session.execute(
                select(Organisation.code, Organisation.name, Organisation.kind,
                       Membership.role)
                .join(Organisation, Organisation.id == Membership.organisation_id)
                .where(Membership.person_id == person.id)
                .order_by(Membership.created_at, Organisation.code, Membership.role)).all()
        out: dict[str, Any] = {
            "roles": [{"org": code, "org_name": name, "role": role}
                      for code, name, _kind, role in rows]}
        if rows:
            out["org"] = {"code": rows[0][0], "name": rows[0][1]}
        for code, name, kind, role in rows:
            if kind == "school" and role in ("student", "teacher"):
                out["school"] = {"code": code, "name": name}
                break
        if include_student_number and person.student_number:
            out["student_number"] = person.student_number
        return out
