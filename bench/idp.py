"""Identity-provider benchmark (issue 3): the token endpoint under load, ours against
node-oidc-provider, and full authorization-code logins per second.

Ours is ``edutrust serve`` (gunicorn, workers = cores) on a fresh platform home with the
embedded SQLite database; the peer is npm ``oidc-provider`` (bench/oidc_provider_peer.mjs:
client_credentials, ES256 JWT access tokens through a resource indicator, in-memory
adapter, node:cluster with workers = cores). Both listen on free loopback ports of this
machine and are driven by the same load generator (``cores`` processes of keep-alive
``http.client`` connections, CONNECTIONS in all) one after the other, the order flipping
every round; each figure is the median of the rounds.

Rows: client_credentials requests/s and p50/p99 latency of ours with SM2 and with ES256
access tokens beside the peer's ES256; ours with SM2 against the ceiling that SM2 signing
alone sets on the same cores (``cores`` processes signing in a loop with crypto.sm2,
measured in each round); full logins per second (authorize, login form, password POST,
token) of ours and of the peer's devInteractions login, and ours against the ceiling of
the one PBKDF2-HMAC-SM3 that each of our logins spends. A floor row sets gunicorn, run as
``edutrust serve`` runs it, serving nothing but one SM2 signature per request
(bench/idp_floor.py) against the same SM2 ceiling: the most any Python token endpoint on
our server stack can reach.
"""

from __future__ import annotations

import base64
import http.client
import json
import multiprocessing
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from bench import Options, PeerFailed, Report, Row, progress

TITLE = "Identity provider (issue: OpenID Connect provider)"
ROOT = Path(__file__).resolve().parent.parent
PEER_SCRIPT = ROOT / "bench" / "oidc_provider_peer.mjs"
PEER_PACKAGE = ROOT / "node_modules" / "oidc-provider" / "package.json"
CONNECTIONS = 16  # concurrent keep-alive connections, both sides, token rows
LOGIN_CONNECTIONS = 8  # concurrent browsers, both sides, login rows
OUR_SCOPE = "edu"
RESOURCE = "urn:edutrust:bench:api"
PASSWORD = "Bench-Password-2026!"  # noqa: S105 - the bench people's, thrown away
REDIRECT_URI = "http://127.0.0.1/bench/callback"
ES256_GOAL = 1.0
CEILING_GOAL = 0.8
START_TIMEOUT = 90.0
# A warm-up before each measurement: connections opened, workers' lazy set-up done.
WARM_UP_SECONDS = 0.5


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def _jwt_header(token: str) -> dict[str, Any]:
    head = token.split(".")[0]
    header: dict[str, Any] = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    return header


# ---------------------------------------------------------------- load generator

@dataclass(frozen=True)
class TokenTarget:
    """One token endpoint and the exact request to send it, again and again."""

    port: int
    path: str
    authorization: str
    body: str


@dataclass(frozen=True)
class LoginTarget:
    """Where and as whom to log in; ``kind`` is "ours" or "peer"."""

    kind: str
    base: str
    client_id: str
    client_secret: str
    usernames: tuple[str, ...]


@dataclass
class Load:
    """What one process of the load generator saw during a measurement."""

    done: int = 0
    failed: int = 0
    first_failure: str = ""
    latencies: list[float] = field(default_factory=list)


def _token_thread(target: TokenTarget, start_at: float, stop_at: float, out: Load,
                  lock: threading.Lock) -> None:
    headers = {"Authorization": target.authorization,
               "Content-Type": "application/x-www-form-urlencoded"}
    body = target.body.encode()
    conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=30)
    clock = time.perf_counter
    latencies: list[float] = []
    done = failed = 0
    failure = ""
    try:
        while time.time() < start_at:  # warm-up requests, not counted
            conn.request("POST", target.path, body, headers)
            conn.getresponse().read()
        deadline = clock() + (stop_at - time.time())
        while True:
            began = clock()
            if began >= deadline:
                break
            conn.request("POST", target.path, body, headers)
            response = conn.getresponse()
            data = response.read()
            if response.status == 200:
                done += 1
                latencies.append(clock() - began)
            else:
                failed += 1
                failure = failure or f"HTTP {response.status}: {data[:200]!r}"
    except (OSError, http.client.HTTPException) as exc:
        failed += 1
        failure = failure or f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()
    with lock:
        out.done += done
        out.failed += failed
        out.first_failure = out.first_failure or failure
        out.latencies.extend(latencies)


def _form_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def _pkce() -> tuple[str, str]:
    import hashlib

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _login_once(target: LoginTarget, username: str) -> None:
    """One full login in a new browser (no cookies): authorize, login page, password
    POST, redirects to the client with a code, token request. Raises on any surprise."""
    import requests

    verifier, challenge = _pkce()
    state = secrets.token_urlsafe(8)
    params = {"response_type": "code", "client_id": target.client_id,
              "redirect_uri": REDIRECT_URI, "scope": "openid", "state": state,
              "code_challenge": challenge, "code_challenge_method": "S256"}
    ours = target.kind == "ours"
    authorize, token_path = ("/oauth2/authorize", "/oauth2/token") if ours else ("/auth",
                                                                                 "/token")
    browser = requests.Session()
    url = target.base + authorize + "?" + urlencode(params)
    try:
        for _ in range(10):
            if url.startswith(REDIRECT_URI):
                break
            response = browser.get(url, allow_redirects=False, timeout=30)
            if response.status_code in (302, 303):
                url = urljoin(url, response.headers["Location"])
                continue
            if response.status_code != 200 or 'name="password"' not in response.text:
                raise RuntimeError(f"login page expected, got {response.status_code}: "
                                   f"{response.text[:200]}")
            if ours:
                form = {**_form_fields(response.text), "username": username,
                        "password": PASSWORD}
                action = target.base + "/login"
            else:
                form = {"prompt": "login", "login": username, "password": PASSWORD}
                found = re.search(r'<form[^>]*action="([^"]+)"', response.text)
                action = urljoin(url, found.group(1) if found else urlsplit(url).path)
            posted = browser.post(action, data=form, allow_redirects=False, timeout=30)
            if posted.status_code not in (302, 303):
                raise RuntimeError(f"login POST answered {posted.status_code}: "
                                   f"{posted.text[:200]}")
            url = urljoin(action, posted.headers["Location"])
        else:
            raise RuntimeError("too many redirects")
        query = dict(p.split("=", 1) for p in urlsplit(url).query.split("&") if "=" in p)
        if query.get("state") != state or "code" not in query:
            raise RuntimeError(f"no code in the redirect: {url[:200]}")
        token = browser.post(target.base + token_path,
                             data={"grant_type": "authorization_code", "code": query["code"],
                                   "redirect_uri": REDIRECT_URI, "code_verifier": verifier},
                             auth=(target.client_id, target.client_secret), timeout=30)
        if token.status_code != 200 or "access_token" not in token.json():
            raise RuntimeError(f"token request answered {token.status_code}: "
                               f"{token.text[:200]}")
    finally:
        browser.close()


def _login_thread(target: LoginTarget, username: str, start_at: float, stop_at: float,
                  out: Load, lock: threading.Lock) -> None:
    clock = time.perf_counter
    latencies: list[float] = []
    done = failed = 0
    failure = ""
    try:
        # Warmed up once per server before the rounds (``warm_up_logins``); a login still
        # running at the end of the window is not counted.
        while time.time() < start_at:
            time.sleep(0.005)
        deadline = clock() + (stop_at - time.time())
        while clock() < deadline:
            began = clock()
            _login_once(target, username)
            if clock() <= deadline:
                done += 1
                latencies.append(clock() - began)
    except Exception as exc:  # reported with the figures, never swallowed
        failed += 1
        failure = f"{type(exc).__name__}: {exc}"
    with lock:
        out.done += done
        out.failed += failed
        out.first_failure = out.first_failure or failure
        out.latencies.extend(latencies)


def generate_load(target: TokenTarget | LoginTarget, start_at: float, seconds: float,
                  threads: int, slot: int) -> Load:
    """One process of the load generator: ``threads`` connections (or browsers) sending
    requests from ``start_at`` (wall clock) for ``seconds``; runs in a pool process."""
    out = Load()
    lock = threading.Lock()
    stop_at = start_at + seconds
    workers = []
    for i in range(threads):
        if isinstance(target, TokenTarget):
            args: tuple[Any, ...] = (target, start_at, stop_at, out, lock)
            workers.append(threading.Thread(target=_token_thread, args=args))
        else:
            username = target.usernames[(slot * threads + i) % len(target.usernames)]
            args = (target, username, start_at, stop_at, out, lock)
            workers.append(threading.Thread(target=_login_thread, args=args))
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return out


@dataclass
class Measured:
    rate: float
    p50_ms: float
    p99_ms: float


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class LoadGenerator:
    """``cores`` processes, kept for the whole run, sharing the connections evenly."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self.pool = multiprocessing.get_context("spawn").Pool(processes)

    def close(self) -> None:
        self.pool.terminate()
        self.pool.join()

    def measure(self, target: TokenTarget | LoginTarget, connections: int, seconds: float,
                what: str) -> Measured:
        if isinstance(target, TokenTarget) and WRK is not None:
            return wrk_measure(WRK, target, self.processes, connections, seconds, what)
        threads = max(1, connections // self.processes)
        start_at = time.time() + WARM_UP_SECONDS
        results = self.pool.starmap(generate_load, [(target, start_at, seconds, threads, i)
                                                    for i in range(self.processes)])
        done = sum(r.done for r in results)
        failed = sum(r.failed for r in results)
        if failed or not done:
            first = next((r.first_failure for r in results if r.first_failure),
                         "none completed within the window")
            raise PeerFailed(f"{what}: {failed} failed requests ({first})")
        latencies = [x for r in results for x in r.latencies]
        return Measured(done / seconds, percentile(latencies, 0.5) * 1000,
                        percentile(latencies, 0.99) * 1000)


# wrk (Debian package ``wrk``) drives the token rows when installed: a C event loop
# costs the shared cores a few microseconds per request where http.client costs about
# 75, so both servers keep more of the cores. ``make bench`` installs it when it can.
WRK = shutil.which("wrk")
# Counts every answer that is not 200 (wrk itself only counts non-2xx/3xx).
_WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = os.getenv("BENCH_AUTHORIZATION")
local threads = {}
not_ok = 0
function setup(thread) table.insert(threads, thread) end
function response(status, headers, body)
  if status ~= 200 then not_ok = not_ok + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("not_ok") end
  io.write(string.format("bench-not-200 %d\\n", total))
  io.write(string.format("bench-p50-us %d\\n", latency:percentile(50)))
  io.write(string.format("bench-p99-us %d\\n", latency:percentile(99)))
  io.write(string.format("bench-requests %d\\n", summary.requests))
  io.write(string.format("bench-errors %d\\n", summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout))
end
"""


def _wrk(wrk: str, target: TokenTarget, threads: int, connections: int,
         seconds: int) -> dict[str, int]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(_WRK_SCRIPT)
        script.flush()
        env = {**os.environ, "BENCH_BODY": target.body,
               "BENCH_AUTHORIZATION": target.authorization}
        out = subprocess.run(
            [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s",
             "-s", script.name, f"http://127.0.0.1:{target.port}{target.path}"],
            env=env, capture_output=True, text=True, timeout=seconds + 60, check=False)
    found = dict(re.findall(r"^bench-([a-z0-9-]+) (\d+)$", out.stdout, re.MULTILINE))
    if out.returncode != 0 or len(found) != 5:
        raise PeerFailed(f"wrk answered {out.returncode}: {(out.stderr or out.stdout)[-300:]}")
    return {name: int(value) for name, value in found.items()}


def wrk_measure(wrk: str, target: TokenTarget, threads: int, connections: int,
                seconds: float, what: str) -> Measured:
    """The token rows' measurement through wrk: a warm-up second, then the measured
    window (wrk takes whole seconds)."""
    _wrk(wrk, target, threads, connections, 1)
    window = max(1, round(seconds))
    seen = _wrk(wrk, target, threads, connections, window)
    if seen["not-200"] or seen["errors"] or not seen["requests"]:
        raise PeerFailed(f"{what}: {seen['not-200']} answers other than 200, "
                         f"{seen['errors']} socket errors, {seen['requests']} requests")
    return Measured(seen["requests"] / window, seen["p50-us"] / 1000, seen["p99-us"] / 1000)


# ---------------------------------------------------------------- ceilings

SM2_HEADER = b"eyJhbGciOiJTTTIiLCJraWQiOiJwbGF0Zm9ybS1zaWduaW5nLnYxIiwidHlwIjoiYXQrand0In0"
ES256_HEADER = base64.urlsafe_b64encode(
    b'{"alg":"ES256","kid":"platform-signing.v1","typ":"at+jwt"}').rstrip(b"=")


def token_signing_input(header: bytes = SM2_HEADER) -> bytes:
    """A signing input the size of one of our access tokens' (header.claims)."""
    return header + b"." + base64.urlsafe_b64encode(os.urandom(240)).rstrip(b"=")


def _sign_loop(start_at: float, seconds: float) -> int:
    """SM2 signatures of an access token's signing input, in a loop (pool process)."""
    from crypto.sm2 import SignatureEncoding, SM2PrivateKey

    key = SM2PrivateKey.generate()
    message = token_signing_input()
    key.sign(message, encoding=SignatureEncoding.RAW)
    while time.time() < start_at:
        time.sleep(0.001)
    deadline = time.perf_counter() + seconds
    count = 0
    while time.perf_counter() < deadline:
        for _ in range(20):
            key.sign(message, encoding=SignatureEncoding.RAW)
        count += 20
    return count


def _password_loop(stored: str, start_at: float, seconds: float) -> float:
    """PBKDF2-HMAC-SM3 verifications of one stored password hash (pool process)."""
    from idp import passwords

    passwords.verify_password(PASSWORD, stored)
    while time.time() < start_at:
        time.sleep(0.001)
    began = time.perf_counter()
    count = 0
    while time.perf_counter() - began < seconds:
        passwords.verify_password(PASSWORD, stored)
        count += 1
    return count / (time.perf_counter() - began)


def sm2_ceiling(gen: LoadGenerator, seconds: float) -> float:
    start_at = time.time() + 0.3
    counts = gen.pool.starmap(_sign_loop, [(start_at, seconds)] * gen.processes)
    return sum(counts) / seconds


def password_ceiling(gen: LoadGenerator, stored: str, seconds: float) -> float:
    start_at = time.time() + 0.3
    return sum(gen.pool.starmap(_password_loop, [(stored, start_at, seconds)]
                                * gen.processes))


# ---------------------------------------------------------------- the two servers

def _answers(port: int, path: str) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", path)
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def _start(argv: list[str], log: Path, **kwargs: Any) -> subprocess.Popen[bytes]:
    """A server whose output goes to ``log`` (a pipe nobody reads could fill and stall
    it)."""
    with log.open("wb") as out:
        return subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                **kwargs)


def _wait_until_up(port: int, path: str, process: subprocess.Popen[bytes], log: Path,
                   name: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if _answers(port, path):
            return
        if process.poll() is not None or time.monotonic() > deadline:
            output = log.read_text(encoding="utf-8", errors="replace")
            raise PeerFailed(f"{name} did not start: {output.strip()[-500:]}")
        time.sleep(0.2)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Ours:
    base: str
    port: int
    sm2: TokenTarget
    es256: TokenTarget
    login: LoginTarget
    stored_password: str
    database: str


@contextmanager
def ours_running(workers: int, users: int) -> Iterator[Ours]:
    """A fresh platform (SQLite in a temporary home), its bench clients and people, and
    ``edutrust serve`` with ``workers`` gunicorn workers on a free port."""
    from edutrust.platform import initialise
    from edutrust.settings import Settings
    from idp.oauth2.clients import ClientRegistration
    from idp.oauth2.server import open_provider

    with tempfile.TemporaryDirectory(prefix="edutrust-bench-idp-") as folder:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        home = Path(folder) / "home"
        settings = Settings(home=home, database_url=f"sqlite:///{home / 'edutrust.db'}",
                            redis_url=None, issuer=base, master_key_b64=None, lang="en",
                            log_level="WARNING")
        platform = initialise(settings, lambda key, **values: None)
        try:
            provider = open_provider(base, platform.sessions, platform.keys, platform.fields)
            targets = {}
            for alg in ("SM2", "ES256"):
                client, secret = provider.clients.register(ClientRegistration(
                    name=f"bench {alg}", grant_types=("client_credentials",),
                    scopes=(OUR_SCOPE,), access_token_alg=alg))
                assert secret is not None
                targets[alg] = TokenTarget(port, "/oauth2/token",
                                           _basic(client.client_id, secret),
                                           f"grant_type=client_credentials&scope="
                                           f"{OUR_SCOPE}")
            login_client, login_secret = provider.clients.register(ClientRegistration(
                name="bench login", grant_types=("authorization_code",),
                redirect_uris=(REDIRECT_URI,), scopes=("openid",), first_party=True))
            assert login_secret is not None
            directory = provider.directory
            names = []
            for i in range(users):
                person = directory.create_person(f"bench.user{i}", f"Bench User {i}",
                                                 password=PASSWORD)
                names.append(person.username)
            stored = directory.person(person.id).password_hash  # type: ignore[union-attr]
            with platform.engine.connect() as conn:
                sqlite = conn.exec_driver_sql("select sqlite_version()").scalar()
                sync = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(
                    int(conn.exec_driver_sql("pragma synchronous").scalar() or 0), "?")
        finally:
            platform.engine.dispose()
        env = {k: v for k, v in os.environ.items() if not k.startswith("EDUTRUST_")}
        env.update({"EDUTRUST_HOME": str(home), "EDUTRUST_DATABASE_URL": settings.database_url,
                    "EDUTRUST_ISSUER": base, "EDUTRUST_LOG_LEVEL": "WARNING",
                    "PYTHONUNBUFFERED": "1"})
        log = Path(folder) / "serve.log"
        process = _start([sys.executable, "-m", "edutrust", "serve", "--host", "127.0.0.1",
                          "--port", str(port), "--workers", str(workers)], log, env=env)
        try:
            _wait_until_up(port, "/healthz", process, log, "edutrust serve")
            yield Ours(base, port, targets["SM2"], targets["ES256"],
                       LoginTarget("ours", base, login_client.client_id, login_secret,
                                   tuple(names)), stored or "",
                       f"SQLite {sqlite} (WAL, synchronous={sync}) in a temporary folder")
        finally:
            _stop(process)


@contextmanager
def floor_running(workers: int) -> Iterator[tuple[TokenTarget, TokenTarget]]:
    """bench/idp_floor.py (gunicorn as ``edutrust serve`` runs it, one signature per
    request) with ``workers`` workers on a free port; the SM2 and the ES256 targets, both
    sending our token request."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="edutrust-bench-floor-") as folder:
        log = Path(folder) / "floor.log"
        process = _start([sys.executable, "-m", "bench.idp_floor", str(port), str(workers)],
                         log)
        try:
            _wait_until_up(port, "/", process, log, "the gunicorn floor")
            body = f"grant_type=client_credentials&scope={OUR_SCOPE}"
            yield (TokenTarget(port, "/oauth2/token", _basic("floor", "floor"), body),
                   TokenTarget(port, "/es256/token", _basic("floor", "floor"), body))
        finally:
            _stop(process)


@dataclass
class Peer:
    base: str
    token: TokenTarget
    login: LoginTarget
    version: str


def peer_version() -> str:
    if shutil.which("node") is None:
        raise PeerFailed("node is not installed (the peer is npm oidc-provider)")
    if not PEER_PACKAGE.exists():
        raise PeerFailed("npm oidc-provider is not installed: run `npm ci` (make bench "
                         "does) in the repository")
    version = json.loads(PEER_PACKAGE.read_text(encoding="utf-8"))["version"]
    node = subprocess.run(["node", "--version"], capture_output=True, text=True,
                          check=False).stdout.strip()
    return f"oidc-provider {version} on Node.js {node}"


@contextmanager
def peer_running(workers: int, users: tuple[str, ...]) -> Iterator[Peer]:
    """bench/oidc_provider_peer.mjs with ``workers`` processes on a free port."""
    version = peer_version()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    client = {"client_id": "bench", "client_secret": secrets.token_urlsafe(32)}
    login = {"client_id": "bench-login", "client_secret": secrets.token_urlsafe(32),
             "redirect_uri": REDIRECT_URI}
    with tempfile.TemporaryDirectory(prefix="edutrust-bench-peer-") as folder:
        config = Path(folder) / "peer.json"
        config.write_text(json.dumps({"issuer": base, "client": client,
                                      "login_client": login, "resource": RESOURCE}),
                          encoding="utf-8")
        log = Path(folder) / "peer.log"
        process = _start(["node", str(PEER_SCRIPT), str(port), str(workers), str(config)],
                         log)
        try:
            _wait_until_up(port, "/.well-known/openid-configuration", process, log,
                           "oidc-provider")
            token = TokenTarget(port, "/token",
                                _basic(client["client_id"], client["client_secret"]),
                                f"grant_type=client_credentials&scope=api&resource="
                                f"{RESOURCE}")
            yield Peer(base, token, LoginTarget("peer", base, login["client_id"],
                                                login["client_secret"], users), version)
        finally:
            _stop(process)


def check_token(target: TokenTarget, alg: str, name: str) -> None:
    """One token before measuring: a JWT access token (typ at+jwt) signed with ``alg``."""
    conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=30)
    try:
        conn.request("POST", target.path, target.body.encode(),
                     {"Authorization": target.authorization,
                      "Content-Type": "application/x-www-form-urlencoded"})
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    if response.status != 200:
        raise PeerFailed(f"{name}: token request answered {response.status}: {body[:300]!r}")
    header = _jwt_header(json.loads(body)["access_token"])
    if header.get("alg") != alg or header.get("typ") != "at+jwt":
        raise PeerFailed(f"{name}: expected an {alg} at+jwt access token, got {header}")


# ---------------------------------------------------------------- the run

@dataclass
class Figures:
    ours_sm2: list[Measured] = field(default_factory=list)
    ours_es256: list[Measured] = field(default_factory=list)
    peer: list[Measured] = field(default_factory=list)
    floor: list[Measured] = field(default_factory=list)
    floor_es256: list[Measured] = field(default_factory=list)
    ceiling: list[float] = field(default_factory=list)
    ours_logins: list[Measured] = field(default_factory=list)
    peer_logins: list[Measured] = field(default_factory=list)
    password_ceiling: list[float] = field(default_factory=list)


def _line(label: str, m: Measured) -> str:
    return (f"  {label:<34} {m.rate:>9,.0f} /s   p50 {m.p50_ms:7.1f} ms   "
            f"p99 {m.p99_ms:7.1f} ms")


def token_rounds(gen: LoadGenerator, ours: Ours, peer: Peer,
                 floor: tuple[TokenTarget, TokenTarget], rounds: int, seconds: float,
                 figures: Figures) -> None:
    for rnd in range(rounds):
        progress(f"bench idp: token endpoint, round {rnd + 1}/{rounds}")
        steps = ["sm2", "es256", "peer", "floor", "floor-es256", "ceiling"]
        for step in steps if rnd % 2 == 0 else list(reversed(steps)):
            if step == "sm2":
                figures.ours_sm2.append(gen.measure(ours.sm2, CONNECTIONS, seconds,
                                                    "ours, SM2 tokens"))
                progress(_line("ours, SM2 access tokens", figures.ours_sm2[-1]))
            elif step == "es256":
                figures.ours_es256.append(gen.measure(ours.es256, CONNECTIONS, seconds,
                                                      "ours, ES256 tokens"))
                progress(_line("ours, ES256 access tokens", figures.ours_es256[-1]))
            elif step == "peer":
                figures.peer.append(gen.measure(peer.token, CONNECTIONS, seconds,
                                                "oidc-provider, ES256 tokens"))
                progress(_line("oidc-provider, ES256 access tokens", figures.peer[-1]))
            elif step == "floor":
                figures.floor.append(gen.measure(floor[0], CONNECTIONS, seconds,
                                                 "gunicorn floor, SM2"))
                progress(_line("gunicorn + one SM2 signature", figures.floor[-1]))
            elif step == "floor-es256":
                figures.floor_es256.append(gen.measure(floor[1], CONNECTIONS, seconds,
                                                       "gunicorn floor, ES256"))
                progress(_line("gunicorn + one ES256 signature", figures.floor_es256[-1]))
            else:
                figures.ceiling.append(sm2_ceiling(gen, seconds))
                progress(f"  SM2 signing alone, {gen.processes} processes: "
                         f"{figures.ceiling[-1]:>9,.0f} /s")


def warm_up_logins(*targets: LoginTarget) -> None:
    """One login per user on each server: first-request costs (templates, caches) paid
    before anything is timed."""
    for target in targets:
        for username in target.usernames:
            _login_once(target, username)


def login_rounds(gen: LoadGenerator, ours: Ours, peer: Peer, rounds: int, seconds: float,
                 figures: Figures) -> None:
    try:
        warm_up_logins(ours.login, peer.login)
    except Exception as exc:  # a login that cannot complete at all: say why
        raise PeerFailed(f"a warm-up login failed: {type(exc).__name__}: {exc}") from None
    for rnd in range(rounds):
        progress(f"bench idp: logins, round {rnd + 1}/{rounds}")
        steps = ["ours", "peer", "ceiling"]
        for step in steps if rnd % 2 == 0 else list(reversed(steps)):
            if step == "ours":
                figures.ours_logins.append(gen.measure(ours.login, LOGIN_CONNECTIONS,
                                                       seconds, "ours, logins"))
                progress(_line("ours, logins", figures.ours_logins[-1]))
            elif step == "peer":
                figures.peer_logins.append(gen.measure(peer.login, LOGIN_CONNECTIONS,
                                                       seconds, "oidc-provider, logins"))
                progress(_line("oidc-provider, logins", figures.peer_logins[-1]))
            else:
                figures.password_ceiling.append(password_ceiling(gen, ours.stored_password,
                                                                 seconds))
                progress(f"  PBKDF2-HMAC-SM3 alone, {gen.processes} processes: "
                         f"{figures.password_ceiling[-1]:>9,.1f} /s")


def _rows(f: Figures) -> list[Row]:
    def rates(ms: list[Measured]) -> list[float]:
        return [m.rate for m in ms]

    def p50(ms: list[Measured]) -> list[float]:
        return [m.p50_ms for m in ms]

    def p99(ms: list[Measured]) -> list[float]:
        return [m.p99_ms for m in ms]

    peer = "oidc-provider, ES256"
    return [
        Row("client_credentials req/s, ours ES256", peer, rates(f.ours_es256), rates(f.peer),
            goal=ES256_GOAL),
        Row("client_credentials req/s, ours SM2", peer, rates(f.ours_sm2), rates(f.peer)),
        Row("client_credentials req/s, ours SM2", "SM2 signing alone (ceiling)",
            rates(f.ours_sm2), f.ceiling, goal=CEILING_GOAL),
        Row("req/s, gunicorn + one SM2 signature, nothing else (floor)",
            "SM2 signing alone (ceiling)", rates(f.floor), f.ceiling),
        Row("req/s, gunicorn + one ES256 signature, nothing else (floor)", peer,
            rates(f.floor_es256), rates(f.peer)),
        Row("client_credentials req/s, ours ES256", "gunicorn + one ES256 signature (floor)",
            rates(f.ours_es256), rates(f.floor_es256)),
        Row("client_credentials req/s, ours SM2", "gunicorn + one SM2 signature (floor)",
            rates(f.ours_sm2), rates(f.floor)),
        Row("p50 latency ms (lower is better), ours ES256", peer, p50(f.ours_es256),
            p50(f.peer)),
        Row("p99 latency ms (lower is better), ours ES256", peer, p99(f.ours_es256),
            p99(f.peer)),
        Row("p50 latency ms (lower is better), ours SM2", peer, p50(f.ours_sm2), p50(f.peer)),
        Row("p99 latency ms (lower is better), ours SM2", peer, p99(f.ours_sm2), p99(f.peer)),
        Row("authorization-code logins/s", "oidc-provider, devInteractions",
            rates(f.ours_logins), rates(f.peer_logins)),
        Row("authorization-code logins/s", "one PBKDF2-HMAC-SM3 per login (ceiling)",
            rates(f.ours_logins), f.password_ceiling),
        Row("login p50 ms (lower is better)", "oidc-provider, devInteractions",
            p50(f.ours_logins), p50(f.peer_logins)),
    ]


def run(options: Options) -> Report:
    workers = cores()
    rounds = options.rounds
    seconds = float(options.seconds if options.quick else max(3, options.seconds))
    # A login takes tens of milliseconds of PBKDF2 alone: longer windows, fewer edges.
    login_seconds = max(4.0, seconds) if options.quick else max(6.0, seconds)
    version = peer_version()
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    figures = Figures()
    gen = LoadGenerator(workers)
    try:
        with ours_running(workers, LOGIN_CONNECTIONS) as ours:
            with peer_running(workers, ours.login.usernames) as peer, \
                    floor_running(workers) as floor:
                check_token(ours.sm2, "SM2", "ours")
                check_token(ours.es256, "ES256", "ours")
                check_token(peer.token, "ES256", "oidc-provider")
                check_token(floor[0], "SM2", "the gunicorn floor")
                check_token(floor[1], "ES256", "the gunicorn floor")
                token_rounds(gen, ours, peer, floor, rounds, seconds, figures)
            # In-memory interactions live in one process: the login peer runs one.
            with peer_running(1, ours.login.usernames) as single:
                login_rounds(gen, ours, single, rounds, login_seconds, figures)
            database = ours.database
    finally:
        gen.close()
    from idp.passwords import DEFAULT_ITERATIONS

    details = [
        ("servers", f"ours: `edutrust serve` (gunicorn gthread, {workers} workers x 4 "
                    f"threads, EDUTRUST_LOG_LEVEL=WARNING), {database}; peer: {version}, "
                    f"node:cluster with {workers} workers for the token rows, 1 process "
                    "for the login rows (its in-memory adapter is per process)"),
        ("load", (f"wrk with {workers} threads" if WRK else
                  f"{workers} processes of keep-alive http.client") + " for tokens, "
                 f"{workers} processes of requests for logins, on the same cores as the "
                 f"servers; {CONNECTIONS} connections "
                 f"for tokens and {LOGIN_CONNECTIONS} browsers for logins on both sides; "
                 f"{rounds} rounds of {seconds:g} s (logins {login_seconds:g} s) each, "
                 "order flipping every round; "
                 f"medians; 1-minute load average {load_before:.1f} at the start, "
                 f"{os.getloadavg()[0]:.1f} at the end; the run took "
                 f"{(time.perf_counter() - started) / 60:.1f} min"),
        ("token request", "POST, client_secret_basic, grant_type=client_credentials; ours "
                          f"scope={OUR_SCOPE}, SM2 or ES256 RFC 9068 JWT, stateless "
                          "(not stored; revocation by a jti deny list); the peer's "
                          f"scope=api&resource={RESOURCE}, ES256 JWT, not stored"),
        ("login", "authorize + login page + password POST + redirect + token (PKCE S256, "
                  f"first-party client, no consent); ours verifies PBKDF2-HMAC-SM3 with "
                  f"{DEFAULT_ITERATIONS:,} iterations, the peer's devInteractions checks no "
                  "password"),
    ]
    notes = [
        "Latency rows: ratio ours/peer, so below 1.0x is better for ours.",
        "The SM2 ceiling is signatures/s of the same cores signing a token-sized input "
        "in a loop with crypto.sm2, measured in each round; ours/ceiling says how much "
        "of the cores the rest of a token request (HTTP, client authentication, claims, "
        "database) leaves to signing.",
        "The floors are gunicorn run as `edutrust serve` runs it (gthread, same workers "
        "and threads) serving a WSGI app that only signs one token-sized input per POST "
        "(SM2 with crypto.sm2, or ES256 with cryptography) and answers a token-sized JSON "
        "body (bench/idp_floor.py), under the same load: the most any Python token "
        "endpoint on this server stack can reach; ours/floor is what our endpoint's own "
        "work leaves of it.",
    ]
    if options.quick:
        notes.append("--quick: short rounds, figures are indicative only.")
    return Report(TITLE, details, [f"node bench/oidc_provider_peer.mjs PORT {workers} "
                                   "CONFIG.json"], _rows(figures), notes)
