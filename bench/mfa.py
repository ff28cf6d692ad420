"""MFA benchmark: password + TOTP logins per second per core at our PBKDF2-HMAC-SM3 cost,
beside Keycloak's published sizing (15 password logins/s per vCPU with PBKDF2-SHA512 at
210,000 iterations), with the cost of one hash of each kind measured on this machine in
the same run so the comparison is like for like.

Rows (medians of the rounds):

1. one password hash: PBKDF2-HMAC-SM3 at our iteration count against PBKDF2-HMAC-SHA512
   at 210,000 (hashlib), alternating in short slices, single-threaded, CPU time;
2. password + TOTP logins through the core functions (``Directory.authenticate`` then
   ``TotpAuthenticators.verify`` with a fresh code, SQLite), one thread, CPU time;
3. the same logins through the real HTTP server (``edutrust serve``: gunicorn, one
   worker per usable core) driven by client threads: the login page, the password form,
   the TOTP form, each login in a fresh cookie jar; divided by the CPU time the server
   processes spent (so the figure is per core, and the client's own CPU is not counted).

Rows 2 and 3 are compared twice: with Keycloak's published 15 logins/s per vCPU, and
with the ceiling PBKDF2-SHA512 x 210,000 alone sets on this machine (1 / its hash time),
which is what Keycloak's figure would become here if the hash were all it did.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from pathlib import Path

from bench import (
    Options,
    PeerFailed,
    Report,
    Row,
    paired_ops_per_second,
    progress,
)

TITLE = "MFA (issue 5: password + TOTP logins)"
KEYCLOAK_LOGINS_PER_VCPU = 15.0
KEYCLOAK_ITERATIONS = 210_000
KEYCLOAK_SOURCE = ("Keycloak server guide, \"Concepts for sizing CPU and memory "
                   "resources\": 15 password-based user logins per second per vCPU, "
                   "PBKDF2-SHA512 with 210,000 hash iterations")
PASSWORD = "Bench-Password-2026"  # noqa: S105  (throw-away benchmark accounts)
SCHOOL = "4101990002"


def _usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


class _Users:
    """Benchmark people with a confirmed TOTP authenticator; hands out (username, person
    id, code) so that no person uses a time step twice (a code accepted once is refused
    again, and the window allows the next step early)."""

    def __init__(self, people: list[tuple[str, str, str]]) -> None:
        import pyotp

        self._totp = {pid: pyotp.TOTP(secret) for _u, pid, secret in people}
        self._queue = deque((username, pid) for username, pid, _s in people)
        self._last: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self) -> tuple[str, str, str] | None:
        with self._lock:
            now = int(time.time()) // 30
            for _ in range(len(self._queue)):
                username, pid = self._queue[0]
                self._queue.rotate(-1)
                step = max(now, self._last.get(pid, now - 1) + 1)
                if step <= now + 1:
                    self._last[pid] = step
                    return username, pid, self._totp[pid].at(step * 30)
            return None


class _Installation:
    """A throw-away EduTrust home (SQLite) with a school and ``count`` people, each with
    the same precomputed password hash (our iteration count) and their own TOTP."""

    def __init__(self, count: int) -> None:
        from edutrust.platform import initialise
        from edutrust.settings import Settings

        self.tmp = Path(tempfile.mkdtemp(prefix="edutrust-bench-mfa-"))
        self.settings = Settings(home=self.tmp / "home",
                                 database_url=f"sqlite:///{self.tmp / 'edutrust.db'}",
                                 redis_url=None, issuer="http://127.0.0.1:8000",
                                 master_key_b64=None, lang="en", log_level="WARNING")
        self.platform = initialise(self.settings, lambda key, **values: None)
        self.people = self._people(count)

    def _people(self, count: int) -> list[tuple[str, str, str]]:
        import pyotp
        from sqlalchemy import update

        from idp import passwords
        from idp.directory.models import Person
        from idp.directory.service import Directory
        from idp.mfa.totp import TotpAuthenticators

        directory = Directory(self.platform.sessions, self.platform.fields)
        directory.create_organisation(SCHOOL, "基准测试中学", "school")
        totp = TotpAuthenticators(self.platform.sessions, self.platform.fields)
        stored = passwords.hash_password(PASSWORD)
        people = []
        for i in range(count):
            person = directory.create_person(f"bench{i:05d}", f"Bench {i}")
            directory.add_membership(person.id, SCHOOL, "teacher")
            secret = totp.begin_enrollment(person.id)
            # Confirm with the previous step's code, so the current one stays usable.
            if not totp.confirm(person.id, pyotp.TOTP(secret).at(time.time() - 30)):
                raise PeerFailed("TOTP enrollment failed while preparing the benchmark")
            people.append((person.username, person.id, secret))
        with self.platform.sessions.begin() as session:
            session.execute(update(Person).values(password_hash=stored))
        return people

    def close(self) -> None:
        self.platform.engine.dispose()
        shutil.rmtree(self.tmp, ignore_errors=True)


# ---------------------------------------------------------------- core-function logins

def _core_logins(inst: _Installation, users: _Users, seconds: float) -> float:
    """Password + TOTP logins per CPU-second through the core functions."""
    from idp.directory.service import Directory
    from idp.mfa.totp import TotpAuthenticators

    directory = Directory(inst.platform.sessions, inst.platform.fields)
    totp = TotpAuthenticators(inst.platform.sessions, inst.platform.fields)
    done, spent, deadline = 0, 0.0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        taken = users.take()
        if taken is None:
            time.sleep(0.2)   # every person used this step: wait, untimed
            continue
        username, pid, code = taken
        started = time.process_time()
        person = directory.authenticate(username, PASSWORD)
        ok = person is not None and totp.verify(pid, code)
        spent += time.process_time() - started
        if not ok:
            raise PeerFailed("a benchmark login failed in the core functions")
        done += 1
    return done / spent if spent else 0.0


# ---------------------------------------------------------------- HTTP logins

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [root], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])   # utime + stime
    return total / ticks


_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
_ACTION = re.compile(r'<form method="post" action="([^"]+)"')


class _Server:
    def __init__(self, inst: _Installation, workers: int) -> None:
        self.port = _free_port()
        self.last_failure = ""
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("EDUTRUST_")}
        env.update({"EDUTRUST_HOME": str(inst.settings.home),
                    "EDUTRUST_DATABASE_URL": inst.settings.database_url,
                    "EDUTRUST_ISSUER": self.base, "EDUTRUST_LOG_LEVEL": "WARNING"})
        self.process = subprocess.Popen(
            [sys.executable, "-m", "edutrust", "serve", "--host", "127.0.0.1", "--port",
             str(self.port), "--workers", str(workers)], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import requests

        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(self.base + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise PeerFailed("edutrust serve did not start for the MFA benchmark")
            time.sleep(0.2)

    def login(self, username: str, code: str) -> bool:
        import requests

        with requests.Session() as http:
            page = http.get(self.base + "/login", timeout=30)
            fields = dict(_HIDDEN.findall(page.text))
            answer = http.post(self.base + "/login", timeout=30, allow_redirects=True,
                               data={**fields, "username": username,
                                     "password": PASSWORD})
            if 'name="code"' not in answer.text:
                self.last_failure = f"password step: HTTP {answer.status_code} {answer.url}"
                return False
            action = _ACTION.search(answer.text)
            fields = dict(_HIDDEN.findall(answer.text))
            done = http.post(requests.compat.urljoin(answer.url, action.group(1) if action
                                                     else "/login/mfa/totp"),
                             data={**fields, "code": code}, timeout=30,
                             allow_redirects=False)
            ok = done.status_code in (302, 303) and "mfa" not in done.headers.get(
                "Location", "mfa")
            if not ok:
                self.last_failure = f"TOTP step: HTTP {done.status_code}"
            return ok

    def logins(self, users: _Users, seconds: float, threads: int) -> tuple[float, float]:
        """(logins per server CPU-second, logins per wall-clock second)."""
        pids = _descendants(self.process.pid)
        count = [0]
        failures = [0]
        lock = threading.Lock()
        stop = time.perf_counter() + seconds

        def client() -> None:
            while time.perf_counter() < stop:
                taken = users.take()
                if taken is None:
                    time.sleep(0.2)
                    continue
                ok = self.login(taken[0], taken[2])
                with lock:
                    if ok:
                        count[0] += 1
                    else:
                        failures[0] += 1

        cpu_before, wall_before = _cpu_seconds(pids), time.perf_counter()
        workers = [threading.Thread(target=client) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        cpu = _cpu_seconds(pids) - cpu_before
        wall = time.perf_counter() - wall_before
        if failures[0]:
            raise PeerFailed(f"{failures[0]} benchmark logins failed through HTTP "
                             f"(last: {self.last_failure})")
        return (count[0] / cpu if cpu else 0.0), count[0] / wall

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


# ---------------------------------------------------------------- the run

def run(options: Options) -> Report:
    from crypto.sm3 import pbkdf2_hmac_sm3
    from idp.passwords import DEFAULT_ITERATIONS
    from idp.web import mfa as _web_mfa  # noqa: F401  (the TOTP login step exists)

    cores = _usable_cores()
    http_seconds = max(2.0, options.seconds * (2 if options.quick else 3))
    # Enough people that none needs a time step twice within one round.
    count = 120 if options.quick else 600
    progress(f"bench mfa: preparing {count} people with TOTP")
    inst = _Installation(count)
    users = _Users(inst.people)
    salt = os.urandom(16)
    secret = PASSWORD.encode()

    def ours_hash() -> object:
        return pbkdf2_hmac_sm3(secret, salt, DEFAULT_ITERATIONS, 32)

    def keycloak_hash() -> object:
        return hashlib.pbkdf2_hmac("sha512", secret, salt, KEYCLOAK_ITERATIONS, 64)

    hash_row = Row("one password hash (hashes/s, 1 core)",
                   f"PBKDF2-SHA512 x{KEYCLOAK_ITERATIONS:,}")
    core_row = Row("password+TOTP logins/s per core (core functions)",
                   "Keycloak published, per vCPU")
    core_ceiling = Row("password+TOTP logins/s per core (core functions)",
                       "PBKDF2-SHA512 ceiling here")
    http_row = Row("password+TOTP logins/s per core (HTTP, gunicorn)",
                   "Keycloak published, per vCPU")
    http_ceiling = Row("password+TOTP logins/s per core (HTTP, gunicorn)",
                       "PBKDF2-SHA512 ceiling here")
    wall_rates: list[float] = []
    server: _Server | None = None
    try:
        progress(f"bench mfa: starting edutrust serve with {cores} workers")
        server = _Server(inst, cores)
        for rnd in range(options.rounds):
            progress(f"bench mfa: round {rnd + 1}/{options.rounds}")
            ours, peer = paired_ops_per_second(ours_hash, keycloak_hash,
                                               max(1.0, options.seconds * 1.0), slices=4,
                                               cpu_time=True)
            hash_row.ours.append(ours)
            hash_row.theirs.append(peer)
            core = _core_logins(inst, users, options.seconds)
            core_row.ours.append(core)
            core_row.theirs.append(KEYCLOAK_LOGINS_PER_VCPU)
            core_ceiling.ours.append(core)
            core_ceiling.theirs.append(peer)
            per_cpu, per_wall = server.logins(users, http_seconds, threads=2 * cores)
            http_row.ours.append(per_cpu)
            http_row.theirs.append(KEYCLOAK_LOGINS_PER_VCPU)
            http_ceiling.ours.append(per_cpu)
            http_ceiling.theirs.append(peer)
            wall_rates.append(per_wall)
            progress(f"  hash/s ours {ours:.1f} sha512 {peer:.1f}; logins/s per core: "
                     f"core {core:.1f}, http {per_cpu:.1f} (wall {per_wall:.1f})")
    finally:
        if server is not None:
            server.close()
        inst.close()

    import statistics

    ms_ours = 1000 / hash_row.ours_median
    ms_peer = 1000 / hash_row.peer_median
    details = [
        ("ours", f"PBKDF2-HMAC-SM3, {DEFAULT_ITERATIONS:,} iterations, 16-byte salt, 32-byte "
                 f"output: {ms_ours:.1f} ms per hash on this machine (median)"),
        ("peer hash", f"PBKDF2-HMAC-SHA512, {KEYCLOAK_ITERATIONS:,} iterations (hashlib): "
                      f"{ms_peer:.1f} ms per hash on this machine (median)"),
        ("peer sizing", KEYCLOAK_SOURCE),
        ("HTTP setup", f"edutrust serve (gunicorn gthread, {cores} workers x 4 threads), "
                       f"SQLite (WAL), {2 * cores} client threads on the same machine; "
                       f"median wall-clock rate {statistics.median(wall_rates):.1f} logins/s "
                       f"over all {cores} cores"),
    ]
    notes = [
        f"medians of {options.rounds} rounds; hashes: {max(1.0, options.seconds * 1.0):g} s "
        f"per round alternating in slices, CPU time; core-function logins: "
        f"{options.seconds} s per round, CPU time of this process; HTTP logins: "
        f"{http_seconds:g} s per round, divided by the CPU time of the server's processes "
        "(gunicorn master and workers), which is what \"per core\" means",
        "a login = the login page, the password form (one PBKDF2 at our cost), the TOTP "
        "form (a fresh code for a step the person has not used), each in a new cookie "
        "jar; the audit log records each success",
        "\"PBKDF2-SHA512 ceiling here\": 1 / (time of one PBKDF2-SHA512 x 210,000 on this "
        "machine) = the most password logins per core Keycloak's hash allows here; "
        "Keycloak's published 15/s per vCPU was measured on other hardware",
        "ratio > 1 means more logins per core than the peer figure",
    ]
    return Report(TITLE, details, [], [hash_row, core_row, core_ceiling, http_row,
                                       http_ceiling], notes)

