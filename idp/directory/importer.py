"""Bulk import of organisations, people, roles and guardians from a CSV file.

The file is UTF-8 (a byte-order mark is allowed) with a header row naming the columns in
``COLUMNS`` (docs/directory.md describes each one). Each data row states one fact: an
organisation (``username`` empty), or a person holding a role in an organisation (and,
for a guardian, the minor in ``guardian_of``).

Every row is checked before anything is written: formats and check characters, kinds and
roles, the organisation tree, duplicates and contradictions inside the file, and
conflicts with what the directory already holds. If any row is bad the report lists every
problem with its 1-based line number and nothing is imported; otherwise everything is
written in one database transaction. Importing the same file again changes nothing:
empty cells never clear a value, an initial password is only set on an account that has
none, and each row is reported as created, updated or unchanged.

Error details name a column or another line, never a value: the values are personal
identifiers and reports end up in terminals and logs.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idp import passwords
from idp.directory import DirectoryConflict, DirectoryError, ImportFileError, InvalidCode
from idp.directory.codes import (
    birth_date_of_id_card,
    compact_code,
    normalise_email,
    normalise_id_card,
    normalise_org_code,
    normalise_phone,
    normalise_student_number,
    normalise_username,
)
from idp.directory.models import (
    ORG_KINDS,
    ROLES,
    GuardianLink,
    Membership,
    Organisation,
    Person,
    new_id,
    utcnow,
)
from idp.directory.service import (
    ADULT_AGE,
    Directory,
    clean_name,
    parent_problem,
    role_problem,
    years_between,
)

COLUMNS = ("org_code", "org_name", "org_kind", "parent_code", "username", "display_name",
           "role", "email", "phone", "id_card", "student_number", "birth_date",
           "guardian_of", "password")
REQUIRED_COLUMNS = ("org_code",)
PERSON_COLUMNS = ("display_name", "role", "email", "phone", "id_card", "student_number",
                  "birth_date", "guardian_of", "password")
MAX_ROWS = 200_000
_CHUNK = 500   # values per IN (...) query
_ANALYZE_AFTER = 1_000   # rows created by one import before statistics are refreshed

Progress = Callable[[int, int], None]
_T = TypeVar("_T")


class RowError(NamedTuple):
    """One problem of one row: 1-based line, catalog key, and a column name or other
    line number (never a value)."""

    line: int
    key: str
    detail: str


@dataclass
class ImportReport:
    """What an import did (or, with errors, would not do): rows counted by outcome."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_json(self, translate: Callable[..., str] | None = None) -> dict[str, Any]:
        errors = []
        for err in self.errors:
            item: dict[str, Any] = {"line": err.line, "reason": err.key, "detail": err.detail}
            if translate is not None:
                item["message"] = describe(err, translate, with_line=False)
            errors.append(item)
        return {"rows": self.rows, "created": self.created, "updated": self.updated,
                "unchanged": self.unchanged, "dry_run": self.dry_run, "errors": errors}


def describe(error: RowError, translate: Callable[..., str], *, with_line: bool = True) -> str:
    """The error as a sentence in the translator's language. ``import.row.*`` messages
    place the detail themselves; the others (code and policy messages shared with the
    rest of the directory) are prefixed with the column."""
    if error.key.startswith("import.row."):
        reason = translate(error.key, detail=error.detail)
    elif error.detail:
        reason = translate("import.column_reason", column=error.detail,
                           reason=translate(error.key))
    else:
        reason = translate(error.key)
    return translate("import.row_error", line=error.line, reason=reason) if with_line \
        else reason


@dataclass
class _Row:
    line: int
    org_code: str
    org_name: str | None = None
    org_kind: str | None = None
    parent_code: str | None = None
    username: str | None = None
    display_name: str | None = None
    role: str | None = None
    email: str | None = None
    phone: str | None = None
    phone_index: str | None = None
    id_card: str | None = None
    id_card_index: str | None = None
    student_number: str | None = None
    birth_date: dt.date | None = None
    guardian_of: str | None = None
    password: str | None = None


@dataclass
class _OrgPlan:
    code: str
    line: int                       # first line mentioning it
    name: str | None = None
    kind: str | None = None
    parent_code: str | None = None
    defined_on: dict[str, int] = field(default_factory=dict)   # column -> line
    existing: Organisation | None = None
    id: str = ""
    rename: bool = False


@dataclass
class _PersonPlan:
    username: str
    line: int
    values: dict[str, Any] = field(default_factory=dict)
    defined_on: dict[str, int] = field(default_factory=dict)
    existing: Person | None = None
    id: str = ""
    changes: dict[str, Any] = field(default_factory=dict)
    set_password: bool = False


_PERSON_FIELDS = ("display_name", "email", "phone", "phone_index", "id_card", "id_card_index",
                  "student_number", "birth_date", "password")


def _chunks(items: Sequence[_T]) -> Iterable[Sequence[_T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


def read_rows(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header (lowercased column names) and the non-blank data rows with the line each
    starts on. ``ImportFileError`` when the file cannot be read as our CSV at all."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError("import.file.not_utf8",
                              line=data[:exc.start].count(b"\n") + 1) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    line = 1
    try:
        for record in reader:
            start, line = line, reader.line_num + 1
            if header is None:
                if not any(cell.strip() for cell in record):
                    continue
                header = [cell.strip().lower() for cell in record]
                continue
            if not any(cell.strip() for cell in record):
                continue
            rows.append((start, record))
            if len(rows) > MAX_ROWS:
                raise ImportFileError("import.file.too_many_rows", limit=MAX_ROWS)
    except csv.Error:
        raise ImportFileError("import.file.bad_csv", line=reader.line_num) from None
    if header is None:
        raise ImportFileError("import.file.empty")
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        raise ImportFileError("import.file.unknown_columns", columns=", ".join(unknown))
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise ImportFileError("import.file.duplicate_columns", columns=", ".join(repeated))
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise ImportFileError("import.file.missing_columns", columns=", ".join(missing))
    return header, rows


class DirectoryImport:
    """One import of one file into ``directory``: validate everything, then write all or
    nothing."""

    def __init__(self, directory: Directory, *, progress: Progress | None = None) -> None:
        self.directory = directory
        self.progress = progress or (lambda done, total: None)
        self.errors: list[RowError] = []
        self.today = directory.today()
        # Codes and usernames of rows that failed on their own: later checks stay quiet
        # about them instead of piling "unknown organisation" onto good rows.
        self.failed_codes: set[str] = set()
        self.failed_usernames: set[str] = set()
        self.org_ids: dict[str, str] = {}

    def error(self, line: int, key: str, detail: str = "") -> None:
        self.errors.append(RowError(line, key, detail))

    # -- step 1: each row on its own ---------------------------------------------------

    def parse(self, header: list[str], records: list[tuple[int, list[str]]]) -> list[_Row]:
        rows: list[_Row] = []
        total = 2 * len(records)
        for done, (line, record) in enumerate(records, 1):
            if len(record) != len(header):
                self.error(line, "import.row.field_count", str(len(header)))
            else:
                row = self._parse_row(line, {name: cell.strip()
                                             for name, cell in zip(header, record, strict=True)})
                if row is not None:
                    rows.append(row)
            if done % 200 == 0 or done == len(records):
                self.progress(done, total)
        return rows

    def _parse_row(self, line: int, cells: dict[str, str]) -> _Row | None:
        before = len(self.errors)

        def value(name: str) -> str | None:
            return cells.get(name) or None

        def normalised(name: str, check: Callable[[str], str]) -> str | None:
            raw = value(name)
            if raw is None:
                return None
            try:
                return check(raw)
            except DirectoryError as exc:
                self.error(line, exc.key, name)
                return None

        code = value("org_code")
        if code is None:
            self.error(line, "import.row.missing", "org_code")
            code = ""
        row = _Row(line=line, org_code=compact_code(code))
        row.org_kind = value("org_kind")
        if row.org_kind is not None:
            row.org_kind = row.org_kind.lower()
            if row.org_kind not in ORG_KINDS:
                self.error(line, "import.row.bad_org_kind", "org_kind")
                row.org_kind = None
            elif code:
                kind = row.org_kind
                row.org_code = normalised("org_code",
                                          lambda v: normalise_org_code(kind, v)) or ""
        row.org_name = normalised("org_name", clean_name)
        parent = value("parent_code")
        row.parent_code = compact_code(parent) if parent else None

        row.username = normalised("username", normalise_username)
        if value("username") is None:
            stray = [name for name in PERSON_COLUMNS if value(name)]
            if stray:
                self.error(line, "import.row.needs_username", stray[0])
            if len(self.errors) > before:
                self._failed(row, cells)
                return None
            return row

        row.display_name = normalised("display_name", clean_name)
        role = value("role")
        if role is None:
            self.error(line, "import.row.missing", "role")
        elif role.lower() not in ROLES:
            self.error(line, "import.row.bad_role", "role")
        else:
            row.role = role.lower()
        row.email = normalised("email", normalise_email)
        row.phone = normalised("phone", normalise_phone)
        row.id_card = normalised("id_card",
                                 lambda v: normalise_id_card(v, today=self.today))
        row.student_number = normalised("student_number", normalise_student_number)
        born = value("birth_date")
        if born is not None:
            try:
                row.birth_date = dt.date.fromisoformat(born)
                if row.birth_date.year < 1900 or row.birth_date > self.today:
                    raise ValueError(born)
            except ValueError:
                self.error(line, "import.row.bad_date", "birth_date")
                row.birth_date = None
        if row.id_card is not None:
            from_card = birth_date_of_id_card(row.id_card)
            if row.birth_date is not None and row.birth_date != from_card:
                self.error(line, "import.row.birth_date_mismatch", "birth_date")
            row.birth_date = from_card
        row.guardian_of = normalised("guardian_of", normalise_username)
        if row.guardian_of is not None:
            if row.role is not None and row.role != "guardian":
                self.error(line, "import.row.guardian_of_needs_role", "guardian_of")
            if row.guardian_of == row.username:
                self.error(line, "import.row.guardian_of_self", "guardian_of")
        row.password = value("password")
        if row.password is not None:
            for problem in passwords.check_password_policy(
                    row.password, username=row.username, display_name=row.display_name):
                self.error(line, problem, "password")
        if len(self.errors) > before:
            self._failed(row, cells)
            return None
        if row.phone is not None:
            row.phone_index = self.directory.phone_index(row.phone)
        if row.id_card is not None:
            row.id_card_index = self.directory.id_card_index(row.id_card)
        return row

    def _failed(self, row: _Row, cells: dict[str, str]) -> None:
        self.failed_codes.add(row.org_code)
        self.failed_codes.add(compact_code(cells.get("org_code", "")))
        self.failed_usernames.add(cells.get("username", "").lower())

    # -- step 2: the rows together ------------------------------------------------------

    def consolidate(self, rows: list[_Row]) -> tuple[dict[str, _OrgPlan],
                                                     dict[str, _PersonPlan]]:
        orgs: dict[str, _OrgPlan] = {}
        people: dict[str, _PersonPlan] = {}
        seen_rows: dict[tuple[str, str | None, str | None, str | None], int] = {}
        id_cards: dict[str, tuple[str, int]] = {}
        student_numbers: dict[str, tuple[str, int]] = {}
        for row in rows:
            key = (row.org_code, row.username, row.role, row.guardian_of)
            if key in seen_rows:
                self.error(row.line, "import.row.duplicate", str(seen_rows[key]))
                continue
            seen_rows[key] = row.line
            org = orgs.setdefault(row.org_code, _OrgPlan(code=row.org_code, line=row.line))
            for column, attr in (("org_name", "name"), ("org_kind", "kind"),
                                 ("parent_code", "parent_code")):
                self._agree(org, attr, column, getattr(row, column), row.line,
                            "import.row.org_inconsistent")
            if row.username is None:
                continue
            person = people.setdefault(row.username,
                                       _PersonPlan(username=row.username, line=row.line))
            conflicting: list[str] = []
            for name in _PERSON_FIELDS:
                new = getattr(row, name)
                if new is None:
                    continue
                if name in person.values and person.values[name] != new:
                    column = name.removesuffix("_index")
                    if column not in conflicting:
                        conflicting.append(column)
                    continue
                person.values.setdefault(name, new)
                person.defined_on.setdefault(name, row.line)
            for column in conflicting:
                self.error(row.line, "import.row.person_inconsistent", column)
            for value, registry, key_name in (
                    (row.id_card_index, id_cards, "import.row.id_card_repeated"),
                    (row.student_number, student_numbers,
                     "import.row.student_number_repeated")):
                if value is None:
                    continue
                owner = registry.setdefault(value, (row.username, row.line))
                if owner[0] != row.username:
                    self.error(row.line, key_name, str(owner[1]))
        return orgs, people

    def _agree(self, plan: _OrgPlan, attr: str, column: str, new: Any, line: int,
               key: str) -> None:
        if new is None:
            return
        current = getattr(plan, attr)
        if current is None:
            setattr(plan, attr, new)
            plan.defined_on[column] = line
        elif current != new:
            self.error(line, key, column)

    # -- step 3: against the database ------------------------------------------------------

    def check_against_directory(self, session: Session, rows: list[_Row],
                                orgs: dict[str, _OrgPlan],
                                people: dict[str, _PersonPlan]) -> None:
        codes = sorted(set(orgs) | {o.parent_code for o in orgs.values() if o.parent_code})
        existing_orgs: dict[str, Organisation] = {}
        for chunk in _chunks(codes):
            for org in session.scalars(select(Organisation)
                                       .where(Organisation.code.in_(chunk))):
                existing_orgs[org.code] = org
        by_id = {org.id: org for org in existing_orgs.values()}
        missing_parents = {org.parent_id for org in existing_orgs.values()
                           if org.parent_id and org.parent_id not in by_id}
        for chunk in _chunks(sorted(missing_parents)):
            for org in session.scalars(select(Organisation).where(Organisation.id.in_(chunk))):
                by_id[org.id] = org

        for plan in orgs.values():
            self._check_org(plan, existing_orgs.get(plan.code), by_id)
        self._check_tree(orgs, existing_orgs)
        self.org_ids = {code: org.id for code, org in existing_orgs.items()}
        self.org_ids.update({plan.code: plan.id for plan in orgs.values()})

        for row in rows:
            if row.role is None:
                continue
            plan = orgs[row.org_code]
            kind = plan.existing.kind if plan.existing else plan.kind
            if kind is not None:
                problem = role_problem(row.role, kind)
                if problem:
                    self.error(row.line, problem, "role")

        usernames = sorted(set(people) | {r.guardian_of for r in rows if r.guardian_of})
        existing_people: dict[str, Person] = {}
        for chunk in _chunks(usernames):
            for person in session.scalars(select(Person).where(Person.username.in_(chunk))):
                existing_people[person.username] = person
        for person_plan in people.values():
            person_plan.existing = existing_people.get(person_plan.username)
            if (person_plan.existing is None and "display_name" not in person_plan.values
                    and person_plan.username not in self.failed_usernames):
                self.error(person_plan.line, "import.row.missing", "display_name")
        self._check_unique_identifiers(session, people)
        for row in rows:
            if row.guardian_of is None:
                continue
            minor_plan = people.get(row.guardian_of)
            minor = existing_people.get(row.guardian_of)
            if minor_plan is None and minor is None:
                if row.guardian_of not in self.failed_usernames:
                    self.error(row.line, "import.row.unknown_minor", "guardian_of")
                continue
            born = (minor_plan.values.get("birth_date") if minor_plan else None) or (
                minor.birth_date if minor else None)
            if born is not None and years_between(born, self.today) >= ADULT_AGE:
                self.error(row.line, "directory.guardian_of_adult", "guardian_of")

    def _check_org(self, plan: _OrgPlan, existing: Organisation | None,
                   by_id: dict[str, Organisation]) -> None:
        plan.existing = existing
        if existing is not None:
            plan.id = existing.id
            if plan.kind is not None and plan.kind != existing.kind:
                self.error(plan.defined_on["org_kind"], "import.row.org_kind_conflict",
                           "org_kind")
            parent = by_id.get(existing.parent_id) if existing.parent_id else None
            if plan.parent_code is not None and (parent is None
                                                 or parent.code != plan.parent_code):
                self.error(plan.defined_on["parent_code"], "import.row.org_parent_conflict",
                           "parent_code")
            plan.rename = plan.name is not None and plan.name != existing.name
            return
        plan.id = new_id()
        if plan.kind is None or plan.name is None:
            if plan.code not in self.failed_codes:
                self.error(plan.line, "import.row.unknown_org", "org_code")
            return
        try:
            # Rows naming the kind checked the code already; this catches none of theirs.
            normalise_org_code(plan.kind, plan.code)
        except InvalidCode as exc:
            self.error(plan.line, exc.key, "org_code")

    def _check_tree(self, orgs: dict[str, _OrgPlan],
                    existing_orgs: dict[str, Organisation]) -> None:
        for plan in orgs.values():
            if plan.existing is not None or plan.parent_code is None or plan.kind is None:
                continue
            line = plan.defined_on["parent_code"]
            parent_plan = orgs.get(plan.parent_code)
            parent = existing_orgs.get(plan.parent_code)
            if parent is not None:
                parent_kind: str | None = parent.kind
            elif parent_plan is not None:
                parent_kind = parent_plan.kind   # None: reported on its own line
            else:
                if plan.parent_code not in self.failed_codes:
                    self.error(line, "import.row.unknown_parent", "parent_code")
                continue
            if parent_kind is None:
                continue
            problem = parent_problem(plan.kind, plan.code, parent_kind, plan.parent_code)
            if problem:
                self.error(line, problem, "parent_code")
        # Cycles can only form among new organisations (existing ones keep their parent).
        for plan in orgs.values():
            seen = {plan.code}
            current = plan
            while current.existing is None and current.parent_code in orgs:
                current = orgs[current.parent_code]
                if current.code in seen:
                    if current is plan:
                        self.error(plan.defined_on["parent_code"], "import.row.parent_cycle",
                                   "parent_code")
                    break
                seen.add(current.code)

    def _check_unique_identifiers(self, session: Session,
                                  people: dict[str, _PersonPlan]) -> None:
        for column, attr, key in ((Person.id_card_index, "id_card_index",
                                   "import.row.id_card_taken"),
                                  (Person.student_number, "student_number",
                                   "import.row.student_number_taken")):
            wanted = {plan.values[attr]: plan for plan in people.values()
                      if attr in plan.values}
            values = sorted(wanted)
            for chunk in _chunks(values):
                for owner, value in session.execute(select(Person.username, column)
                                                    .where(column.in_(chunk))):
                    plan = wanted[value]
                    if owner != plan.username:
                        self.error(plan.defined_on[attr], key,
                                   attr.removesuffix("_index"))

    # -- step 4: what would change ---------------------------------------------------------

    def plan_changes(self, session: Session, rows: list[_Row], orgs: dict[str, _OrgPlan],
                     people: dict[str, _PersonPlan], report: ImportReport) -> tuple[
                         set[tuple[str, str, str]], set[tuple[str, str]]]:
        """Classify every row; answer the memberships and guardian links to create."""
        for plan in people.values():
            if plan.existing is None:
                plan.id = new_id()
                plan.set_password = "password" in plan.values
                continue
            plan.id = plan.existing.id
            current = plan.existing
            for name in ("display_name", "email", "phone_index", "id_card_index",
                         "student_number", "birth_date"):
                if name in plan.values and plan.values[name] != getattr(current, name):
                    plan.changes[name] = plan.values[name]
            plan.set_password = "password" in plan.values and current.password_hash is None

        person_ids = [p.existing.id for p in people.values() if p.existing is not None]
        memberships: set[tuple[str, str, str]] = set()
        links: set[tuple[str, str]] = set()
        for chunk in _chunks(person_ids):
            memberships.update((p, o, r) for p, o, r in session.execute(
                select(Membership.person_id, Membership.organisation_id, Membership.role)
                .where(Membership.person_id.in_(chunk))))
            links.update((g, m) for g, m in session.execute(
                select(GuardianLink.guardian_id, GuardianLink.minor_id)
                .where(GuardianLink.guardian_id.in_(chunk))))

        new_memberships: set[tuple[str, str, str]] = set()
        new_links: set[tuple[str, str]] = set()
        minor_ids = {name: plan.id for name, plan in people.items()}
        for chunk in _chunks(sorted({r.guardian_of for r in rows if r.guardian_of
                                     and r.guardian_of not in minor_ids})):
            minor_ids.update((name, pid) for name, pid in session.execute(
                select(Person.username, Person.id).where(Person.username.in_(chunk))))
        # An organisation is created by the row that gives its kind, renamed by the row
        # that gives its name.
        created_on = {plan.code: plan.defined_on.get("org_kind", plan.line)
                      for plan in orgs.values()}
        renamed_on = {plan.code: plan.defined_on.get("org_name", plan.line)
                      for plan in orgs.values()}
        for row in rows:
            created = updated = False
            org = orgs[row.org_code]
            created |= org.existing is None and created_on[row.org_code] == row.line
            updated |= org.rename and renamed_on[row.org_code] == row.line
            if row.username is not None and row.role is not None:
                person = people[row.username]
                if person.line == row.line:
                    created |= person.existing is None
                    updated |= bool(person.changes) or (person.existing is not None
                                                        and person.set_password)
                triple = (person.id, org.id, row.role)
                if triple not in memberships and triple not in new_memberships:
                    new_memberships.add(triple)
                    created = True
                if row.guardian_of is not None:
                    pair = (person.id, minor_ids[row.guardian_of])
                    if pair not in links and pair not in new_links:
                        new_links.add(pair)
                        created = True
            if created:
                report.created += 1
            elif updated:
                report.updated += 1
            else:
                report.unchanged += 1
        return new_memberships, new_links

    # -- step 5: write -------------------------------------------------------------------

    def write(self, session: Session, orgs: dict[str, _OrgPlan],
              people: dict[str, _PersonPlan], memberships: set[tuple[str, str, str]],
              links: set[tuple[str, str]], rows_total: int) -> None:
        now = utcnow()
        new_orgs = [plan for plan in orgs.values() if plan.existing is None]
        placed = {plan.code for plan in orgs.values() if plan.existing is not None}
        while new_orgs:   # parents before children
            level = [p for p in new_orgs if p.parent_code is None or p.parent_code in placed
                     or p.parent_code not in orgs]
            if not level:
                raise AssertionError("organisation cycle passed the checks")
            session.execute(insert(Organisation), [
                {"id": p.id, "code": p.code, "name": p.name, "kind": p.kind,
                 "parent_id": self.org_ids[p.parent_code] if p.parent_code else None,
                 "created_at": now} for p in level])
            placed.update(p.code for p in level)
            new_orgs = [p for p in new_orgs if p.code not in placed]
        renamed = [{"id": p.id, "name": p.name} for p in orgs.values() if p.rename]
        if renamed:
            session.execute(update(Organisation), renamed)

        fields = self.directory
        new_rows: list[dict[str, Any]] = []
        changed_rows: list[dict[str, Any]] = []
        done = rows_total // 2
        for count, plan in enumerate(people.values(), 1):
            values = plan.values
            if plan.existing is None:
                row: dict[str, Any] = {
                    "id": plan.id, "username": plan.username,
                    "display_name": values["display_name"], "email": values.get("email"),
                    "email_verified": False, "phone_sealed": None, "phone_index": None,
                    "id_card_sealed": None, "id_card_index": None,
                    "student_number": values.get("student_number"),
                    "birth_date": values.get("birth_date"), "password_hash": None,
                    "active": True, "created_at": now, "updated_at": now}
                if "phone" in values:
                    row["phone_sealed"], row["phone_index"] = fields.seal_phone(
                        plan.id, values["phone"], values["phone_index"])
                if "id_card" in values:
                    row["id_card_sealed"], row["id_card_index"] = fields.seal_id_card(
                        plan.id, values["id_card"], values["id_card_index"])
                if plan.set_password:
                    row["password_hash"] = passwords.hash_password(values["password"])
                new_rows.append(row)
            elif plan.changes or plan.set_password:
                change: dict[str, Any] = {"id": plan.id, "updated_at": now}
                for name in ("display_name", "email", "student_number", "birth_date"):
                    if name in plan.changes:
                        change[name] = plan.changes[name]
                if "email" in plan.changes:
                    change["email_verified"] = False
                if "phone_index" in plan.changes:
                    change["phone_sealed"], change["phone_index"] = fields.seal_phone(
                        plan.id, values["phone"], values["phone_index"])
                if "id_card_index" in plan.changes:
                    change["id_card_sealed"], change["id_card_index"] = fields.seal_id_card(
                        plan.id, values["id_card"], values["id_card_index"])
                if plan.set_password:
                    change["password_hash"] = passwords.hash_password(values["password"])
                changed_rows.append(change)
            if count % 200 == 0:
                self.progress(min(rows_total, done + count), rows_total)
        for chunk in _chunks(new_rows):
            session.execute(insert(Person), list(chunk))
        # Executed one by one: rows differ in which columns change.
        for change in changed_rows:
            session.execute(update(Person), [change])
        if memberships:
            rows = [{"person_id": p, "organisation_id": o, "role": r, "created_at": now}
                    for p, o, r in sorted(memberships)]
            for chunk in _chunks(rows):
                session.execute(insert(Membership), list(chunk))
        if links:
            link_rows = [{"guardian_id": g, "minor_id": m, "relation": "guardian",
                          "created_at": now} for g, m in sorted(links)]
            for chunk in _chunks(link_rows):
                session.execute(insert(GuardianLink), list(chunk))
        session.flush()

    # -- all of it -----------------------------------------------------------------------

    def run(self, data: bytes, *, dry_run: bool = False) -> ImportReport:
        header, records = read_rows(data)
        report = ImportReport(rows=len(records), dry_run=dry_run)
        total = 2 * len(records)
        rows = self.parse(header, records)
        orgs, people = self.consolidate(rows)
        try:
            with self.directory.sessions() as session:
                self.check_against_directory(session, rows, orgs, people)
                if self.errors:
                    report.errors = sorted(self.errors, key=lambda e: (e.line, e.key))
                    return report   # closing the session rolls back: nothing written
                memberships, links = self.plan_changes(session, rows, orgs, people, report)
                if not dry_run:
                    self.write(session, orgs, people, memberships, links, total)
                    session.commit()
                    if report.created >= _ANALYZE_AFTER:
                        self._refresh_statistics(session)
        except IntegrityError:
            # Someone else changed the directory between our checks and our writes.
            raise DirectoryConflict("import.concurrent_change") from None
        self.progress(total, total)
        return report

    @staticmethod
    def _refresh_statistics(session: Session) -> None:
        """PostgreSQL plans lookups in a freshly bulk-loaded table as if it were empty
        until autovacuum analyses it; the next import's IN (...) queries then scan the
        whole table (seconds instead of milliseconds). Analyse the tables right away."""
        if session.get_bind().dialect.name != "postgresql":
            return
        for model in (Organisation, Person, Membership, GuardianLink):
            session.execute(text(f"ANALYZE {model.__tablename__}"))
        session.commit()


def import_csv(directory: Directory, data: bytes, *, progress: Progress | None = None,
               dry_run: bool = False) -> ImportReport:
    """Import a directory CSV file (bytes, as read from disk or an upload): all rows or,
    if any row is bad, none. ``progress(done, total)`` is called as rows are checked and
    written; ``dry_run`` checks and counts but writes nothing."""
    return DirectoryImport(directory, progress=progress).run(data, dry_run=dry_run)
