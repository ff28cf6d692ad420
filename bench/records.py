"""Records benchmark: verification and bulk registration of archive entries, set beside
the ceilings this machine puts on them, measured in the same run.

- **Offline verifications/s**: ``records.bundle.verify_bundle`` of anchored archive
  entries' offline bundles, on ``CORES`` processes, beside the ceiling their SM2
  verifications set on the same cores: SM2 verifies/s on ``CORES`` processes divided by
  the SM2 verifications one bundle needs (counted in the run, on a verification after
  the first, like every measured one: certificate paths and CRL signatures are then
  remembered by the verifier). Rounds alternate the two.
  Goal: >= 0.8x.
- **API verifications/s**: ``GET /api/v1/records/{id}/verification`` against
  ``edutrust serve`` (gunicorn, ``CORES`` workers, client_credentials token with
  ``records:verify``) from ``2 * CORES`` client threads, beside offline verifications/s
  of the same run (the API also reads the database and the live ledger).
- **Records registered/s end to end**: ``register_many`` (validate, sign the chain:
  draft, submitted, under review, approved with issuer and reviewer proofs) plus
  ``anchor_many`` (ledger transaction, activation) of archive entries, beside the ceiling
  SM2 would set on ``CORES`` processes if each record were signed alone (seven
  signatures); the bulk path batch-signs (docs/records.md section 5), so it may exceed it.
- **Import of 100,000 archive entries** (``--quick``: 10,000): ``ArchiveImport`` of a
  generated CSV with a reviewer, signed and anchored; entries/s beside the issue's goal
  (100,000 in 60 s).

Everything runs on a fresh embedded platform (SQLite in a temporary folder).
"""

from __future__ import annotations

import contextlib
import csv
import io
import multiprocessing
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import Options, Report, Row, progress

TITLE = "Records (issue: trusted records)"
CORES = 2
# Signatures of a record signed alone (5 lifecycle entries + issuer proof + reviewer
# proof): the peer of the registration row, not what the batch-signing bulk path costs.
SIGNS_PER_RECORD = 7
IMPORT_GOAL_ROWS = 100_000
IMPORT_GOAL_SECONDS = 60.0
VERIFY_GOAL = 0.8


@dataclass
class Desk:
    platform: Any
    channel: Any
    registry: Any


@contextlib.contextmanager
def fresh_desk() -> Iterator[Desk]:
    """A new platform in a temporary folder with a school and its education bureau."""
    from edutrust.ledger_setup import open_channel
    from edutrust.platform import initialise
    from edutrust.records_setup import open_registry
    from edutrust.settings import Settings

    with tempfile.TemporaryDirectory(prefix="edutrust-bench-records-") as folder:
        base = Path(folder)
        settings = Settings(home=base / "home", database_url=f"sqlite:///{base / 'e.db'}",
                            redis_url=None, issuer="http://127.0.0.1:8000",
                            master_key_b64=None, lang="en", log_level="WARNING")
        platform = initialise(settings, lambda key, **values: None)
        channel = open_channel(platform)
        registry = open_registry(platform, channel)
        registry.issuers.register("S001", "北京市第一中学", "school", issues=["archive_entry"])
        registry.issuers.register("EDU11", "北京市教育委员会", "education_department",
                                  reviews=["archive_entry"], region="11")
        try:
            yield Desk(platform, channel, registry)
        finally:
            channel.close()
            platform.engine.dispose()


def entry_row(i: int) -> dict[str, str]:
    from crypto.sm3 import sm3

    return {"school": "S001", "person": f"person-{i:06d}", "recipient_name": "张三",
            "achievement_type": "Course", "achievement_name": f"高中数学（必修{i % 5 + 1}）",
            "criteria": "完成全部课程并通过期末考试", "credits_earned": "2.5", "result": "A",
            "term": f"{2020 + i % 6}-{2021 + i % 6} 学年第一学期",
            "activity_start_date": "2025-09-01", "activity_end_date": "2026-01-20",
            "awarded_date": "2026-01-25", "evidence_name": "成绩单.pdf",
            "evidence_sm3": sm3(str(i).encode()).hex(), "evidence_size": "1024"}


def entries_csv(start: int, count: int) -> bytes:
    rows = [entry_row(i) for i in range(start, start + count)]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def register(desk: Desk, start: int, count: int, workers: int) -> list[str]:
    """``count`` archive entries created, reviewed, approved and anchored; their ids."""
    from records.envelope import Subject, SubjectKind
    from records.importer import parse_row
    from records.lifecycle import Actor
    from records.registry import NewRecord

    items = []
    for i in range(start, start + count):
        row = parse_row(entry_row(i), line=i, school="S001")
        items.append(NewRecord(row.content, Subject(SubjectKind.PERSON, row.person, "S001")))
    school = Actor("bench", "school_staff", "S001")
    reviewer = Actor("bench", "reviewer", "EDU11")
    with desk.registry.signing_pool(["S001", "EDU11"], workers) as pool:
        records = desk.registry.register_many("archive_entry", items, actor=school,
                                              reviewer=reviewer, pool=pool)
        anchored = desk.registry.anchor_many([r.id for r in records], pool=pool)
    return [r.id for r in anchored]


# -------------------------------------------------------------- processes that count

def _count_in_process(op: Callable[[], object], seconds: float, barrier: Any,
                      results: Any, slot: int) -> None:
    op()
    barrier.wait()
    deadline = time.perf_counter() + seconds
    done = 0
    while time.perf_counter() < deadline:
        op()
        done += 1
    results[slot] = done


def process_rate(op: Callable[[], object], seconds: float, processes: int = CORES) -> float:
    """Calls per wall-clock second of ``op`` run in ``processes`` forked processes."""
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(processes + 1)
    results = context.Array("d", processes)
    workers = [context.Process(target=_count_in_process,
                               args=(op, seconds, barrier, results, i))
               for i in range(processes)]
    for worker in workers:
        worker.start()
    barrier.wait()
    start = time.perf_counter()
    for worker in workers:
        worker.join()
    return sum(results[i] for i in range(processes)) / (time.perf_counter() - start)


def sm2_verifications_per_bundle(bundle: dict[str, Any], trust: Any) -> int:
    """How many SM2 verifications one offline verification performs (counted)."""
    from crypto.sm2 import SM2PublicKey
    from records.bundle import verify_bundle

    original = SM2PublicKey.verify
    count = [0]

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return original(self, *args, **kwargs)

    SM2PublicKey.verify = counting  # type: ignore[method-assign]
    try:
        verify_bundle(bundle, trust)
    finally:
        SM2PublicKey.verify = original  # type: ignore[method-assign]
    return count[0]


def sm2_operation(kind: str) -> Callable[[], object]:
    from crypto.sm2 import SM2PrivateKey

    key = SM2PrivateKey.generate()
    message = b"x" * 300   # about the size of a proof or lifecycle statement
    signature = key.sign(message)
    public = key.public_key()
    if kind == "sign":
        return lambda: key.sign(message)
    return lambda: public.verify(signature, message)


# -------------------------------------------------------------- API

def _http(base: str, method: str, path: str, body: bytes | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    import http.client
    import urllib.parse

    where = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port,
                                            timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


@contextlib.contextmanager
def serving_api(desk: Desk) -> Iterator[tuple[str, str]]:
    """``edutrust serve`` on the desk's platform; (base URL, access token)."""
    import base64
    import json
    import socket
    import subprocess
    import sys
    import urllib.parse

    from idp.oauth2.clients import ClientRegistration
    from idp.oauth2.server import open_provider

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    platform = desk.platform
    provider = open_provider(base, platform.sessions, platform.keys, platform.fields)
    client, secret = provider.clients.register(ClientRegistration(
        name="bench verifier", grant_types=("client_credentials",),
        scopes=("records:verify",)))
    settings = platform.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUTRUST_")}
    env.update({"EDUTRUST_HOME": str(settings.home),
                "EDUTRUST_DATABASE_URL": settings.database_url, "EDUTRUST_ISSUER": base,
                "EDUTRUST_LOG_LEVEL": "WARNING", "EDUTRUST_LANG": "en"})
    proc = subprocess.Popen([sys.executable, "-m", "edutrust", "serve", "--host",
                             "127.0.0.1", "--port", str(port), "--workers", str(CORES)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _http(base, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("edutrust serve did not start")
            time.sleep(0.2)
        form = urllib.parse.urlencode({"grant_type": "client_credentials",
                                       "scope": "records:verify"}).encode()
        basic = base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
        status, body = _http(base, "POST", "/oauth2/token", form, {
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/x-www-form-urlencoded"})
        if status != 200:
            raise RuntimeError(f"no access token (HTTP {status})")
        yield base, json.loads(body)["access_token"]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def api_rate(base: str, token: str, ids: list[str], seconds: float,
             threads: int = 2 * CORES) -> float:
    """Verifications/s through the REST API from ``threads`` keep-alive clients."""
    import http.client
    import json
    import urllib.parse

    host = urllib.parse.urlsplit(base)
    counts = [0] * threads
    failures: list[str] = []
    barrier = threading.Barrier(threads + 1)

    def work(slot: int) -> None:
        connection = http.client.HTTPConnection(host.hostname or "127.0.0.1", host.port,
                                                timeout=60)
        headers = {"Authorization": f"Bearer {token}"}
        barrier.wait()
        deadline = time.perf_counter() + seconds
        done, i = 0, slot
        while time.perf_counter() < deadline:
            connection.request("GET", f"/api/v1/records/{ids[i % len(ids)]}/verification",
                               headers=headers)
            answer = connection.getresponse()
            body = answer.read()
            if answer.status != 200 or json.loads(body)["overall"] != "valid":
                failures.append(f"{answer.status}")
                break
            done += 1
            i += threads
        counts[slot] = done
        connection.close()

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    start = time.perf_counter()
    for worker in workers:
        worker.join()
    if failures:
        raise RuntimeError(f"API verification failed: HTTP {failures[0]}")
    return sum(counts) / (time.perf_counter() - start)


# -------------------------------------------------------------- the run

@dataclass
class Figures:
    offline: list[float] = field(default_factory=list)
    offline_ceiling: list[float] = field(default_factory=list)
    api: list[float] = field(default_factory=list)
    api_offline: list[float] = field(default_factory=list)
    registered: list[float] = field(default_factory=list)
    registered_ceiling: list[float] = field(default_factory=list)
    imported: list[float] = field(default_factory=list)
    import_seconds: float = 0.0
    import_rows: int = 0
    import_phases: str = ""
    notes: list[str] = field(default_factory=list)


def run(options: Options) -> Report:
    from records.bundle import verify_bundle
    from records.importer import IMPORT_ANCHOR_BATCH

    quick = options.quick
    seconds = float(options.seconds)
    rounds = options.rounds
    figures = Figures()
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    sample_size = 20 if quick else 100
    with fresh_desk() as desk:
        progress(f"bench records: registering {sample_size} archive entries to verify")
        ids = register(desk, 0, sample_size, CORES)
        trust = desk.registry.trust_anchors()
        bundles = [desk.registry.bundle(i) for i in ids]
        assert verify_bundle(bundles[0], trust).overall.value == "valid"
        per_bundle = sm2_verifications_per_bundle(bundles[0], trust)
        cursor = [0]

        def offline() -> None:
            cursor[0] += 1
            verify_bundle(bundles[cursor[0] % len(bundles)], trust)

        verify = sm2_operation("verify")
        sign = sm2_operation("sign")
        for rnd in range(rounds):
            first, second = (offline, verify) if rnd % 2 == 0 else (verify, offline)
            a = process_rate(first, seconds)
            b = process_rate(second, seconds)
            ours, sm2 = (a, b) if first is offline else (b, a)
            figures.offline.append(ours)
            figures.offline_ceiling.append(sm2 / per_bundle)
            progress(f"bench records: round {rnd + 1}/{rounds}: {ours:,.0f} offline "
                     f"verifications/s; SM2 {sm2:,.0f} verifies/s / {per_bundle} = "
                     f"{sm2 / per_bundle:,.0f}")

        try:
            with serving_api(desk) as (base, token):
                for rnd in range(rounds):
                    figures.api.append(api_rate(base, token, ids, seconds))
                    figures.api_offline.append(process_rate(offline, seconds))
                    progress(f"bench records: round {rnd + 1}/{rounds}: "
                             f"{figures.api[-1]:,.0f} API verifications/s")
        except (RuntimeError, OSError) as exc:
            figures.notes.append(f"API rows missing: {exc}")

        batch = 200 if quick else 2_000
        next_id = sample_size
        for rnd in range(min(rounds, 3)):
            signs = process_rate(sign, seconds)
            t0 = time.perf_counter()
            register(desk, next_id, batch, CORES)
            rate = batch / (time.perf_counter() - t0)
            next_id += batch
            figures.registered.append(rate)
            figures.registered_ceiling.append(signs / SIGNS_PER_RECORD)
            progress(f"bench records: round {rnd + 1}: {rate:,.0f} records registered/s "
                     f"end to end; SM2 {signs:,.0f} signs/s / {SIGNS_PER_RECORD}")

    rows = 10_000 if quick else IMPORT_GOAL_ROWS
    with fresh_desk() as desk:
        from records.importer import ArchiveImport
        from records.lifecycle import Actor

        data = entries_csv(0, rows)
        progress(f"bench records: importing {rows:,} archive entries (signed, anchored)")
        marks: list[tuple[float, int]] = []
        cpu0 = os.times()
        t0 = time.perf_counter()
        report = ArchiveImport(desk.registry, reviewer=Actor("bench", "reviewer", "EDU11"),
                               workers=CORES,
                               progress=lambda done, total: marks.append(
                                   (time.perf_counter(), done))).run(data)
        took = time.perf_counter() - t0
        cpu1 = os.times()
        assert report.ok and report.anchored == rows, report.errors[:3]
        figures.import_seconds = took
        figures.import_rows = rows
        figures.imported.append(rows / took)
        # Phases from the progress marks: parse; check and sign (the ledger transactions
        # of the batches built meanwhile overlap it); the rest (the last batch's ledger
        # transaction, the activations still running, the one write).
        own = cpu1.user + cpu1.system - cpu0.user - cpu0.system
        workers = (cpu1.children_user + cpu1.children_system
                   - cpu0.children_user - cpu0.children_system)
        after_parse = next((t for t, d in marks if d >= rows), t0) - t0
        after_build = next((t for t, d in marks if d >= 2 * rows), t0) - t0
        figures.import_phases = (f"parse {after_parse:.1f} s, check + sign (anchoring "
                                 f"overlapped) {after_build - after_parse:.1f} s, last "
                                 f"anchoring + activation + write {took - after_build:.1f} s; "
                                 f"CPU: this process {own:.1f} s, signing workers "
                                 f"{workers:.1f} s")
        progress(f"bench records: {rows:,} imported in {took:.1f} s ({figures.import_phases})")

    table = [
        Row(f"offline verifications/s ({CORES} processes)",
            f"SM2 ceiling ({per_bundle} verifies per bundle)", figures.offline,
            figures.offline_ceiling, goal=VERIFY_GOAL),
    ]
    if figures.api:
        table.append(Row(f"API verifications/s (GET .../verification, {CORES} workers)",
                         "offline verifications/s, same run", figures.api,
                         figures.api_offline))
    table.append(Row(f"archive entries registered/s end to end ({CORES} processes)",
                     f"SM2 ceiling if each record were signed alone "
                     f"({SIGNS_PER_RECORD} signs)",
                     figures.registered, figures.registered_ceiling))
    goal_rate = IMPORT_GOAL_ROWS / IMPORT_GOAL_SECONDS
    table.append(Row(f"import of {rows:,} archive entries, entries/s",
                     "issue goal (100,000 in 60 s)", figures.imported, [goal_rate],
                     goal=1.0))
    details = [
        ("load", f"1-minute load average {load_before:.1f} at the start, "
                 f"{os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} logical cores; "
                 f"the records run took {(time.perf_counter() - started) / 60:.1f} min"),
        ("database", "SQLite (WAL) in a temporary folder, embedded ledger, 2-of-3 "
                     "endorsement"),
        ("SM2 on these cores", f"{statistics.median(figures.offline_ceiling) * per_bundle:,.0f}"
         f" verifies/s and {statistics.median(figures.registered_ceiling) * SIGNS_PER_RECORD:,.0f}"
         f" signs/s on {CORES} processes (medians)"),
        ("import", f"{figures.import_rows:,} rows in {figures.import_seconds:.1f} s "
                   f"({figures.import_phases}); CSV, reviewer given, {CORES} signing "
                   f"processes, anchored {IMPORT_ANCHOR_BATCH:,} per ledger transaction"),
        ("sizes", f"{sample_size} bundles verified in turn; {batch} records per "
                  "registration round"),
    ]
    notes = [*figures.notes]
    if quick:
        notes.append("--quick: 10,000 rows imported instead of 100,000; the entries/s "
                     "rate is what the goal is judged on")
    return Report(TITLE, details, [], table, notes)

