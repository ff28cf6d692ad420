"""Fixtures shared by the whole suite: a fresh platform on SQLite, or on the PostgreSQL
named by EDUTRUST_TEST_DATABASE_URL (each test gets its own schema there)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from edutrust.platform import Platform, initialise
from edutrust.settings import Settings

PG_URL = os.environ.get("EDUTRUST_TEST_DATABASE_URL", "").strip() or None
REDIS_URL = os.environ.get("EDUTRUST_TEST_REDIS_URL", "").strip() or None
ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--require-services", action="store_true",
                     help="fail at once unless EDUTRUST_TEST_DATABASE_URL and "
                          "EDUTRUST_TEST_REDIS_URL are set and reachable")


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("--require-services"):
        return
    if not PG_URL or not REDIS_URL:
        pytest.exit("--require-services: set EDUTRUST_TEST_DATABASE_URL and "
                    "EDUTRUST_TEST_REDIS_URL", returncode=2)
    try:
        with create_engine(PG_URL).connect() as conn:
            conn.execute(text("SELECT 1"))
        import redis

        redis.Redis.from_url(REDIS_URL).ping()
    except Exception as exc:
        pytest.exit(f"--require-services: service unreachable: {exc}", returncode=2)


@contextmanager
def scratch_database(folder: Path, name: str = "edutrust.db") -> Iterator[str]:
    """The URL of a database nobody else uses: a SQLite file in ``folder``, or a fresh
    PostgreSQL schema when EDUTRUST_TEST_DATABASE_URL is set (dropped afterwards)."""
    if not PG_URL:
        yield f"sqlite:///{folder / name}"
        return
    schema = "t_" + uuid.uuid4().hex[:16]
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A database nobody else uses (see ``scratch_database``)."""
    with scratch_database(tmp_path) as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(home=tmp_path / "home", database_url=database_url, redis_url=REDIS_URL,
                    issuer="http://127.0.0.1:8000", master_key_b64=None, lang="en",
                    log_level="INFO")


@pytest.fixture
def platform(settings: Settings) -> Iterator[Platform]:
    plat = initialise(settings, lambda key, **values: None)
    yield plat
    plat.engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    """Environment for an ``edutrust`` subprocess bound to ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDUTRUST_")}
    env.update({"EDUTRUST_HOME": str(settings.home),
                "EDUTRUST_DATABASE_URL": settings.database_url,
                "EDUTRUST_LANG": "en", "PYTHONUNBUFFERED": "1"})
    if settings.redis_url:
        env["EDUTRUST_REDIS_URL"] = settings.redis_url
    # Every test server shares 127.0.0.1 (and, with Redis, its failure counter): the
    # per-address login lock would otherwise trip across unrelated tests.
    env["EDUTRUST_LOGIN_ADDRESS_MAX_FAILURES"] = "1000000"
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None, input: bytes | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run the real ``edutrust`` console entry point in a subprocess."""
    return subprocess.run([sys.executable, "-m", "edutrust", *args], env=env, input=input,
                          capture_output=True, cwd=cwd or ROOT, timeout=120, check=False)


class LiveServer:
    def __init__(self, process: subprocess.Popen[bytes], base_url: str) -> None:
        self.process = process
        self.base_url = base_url


@contextmanager
def serving(env: dict[str, str], port: int, timeout: float = 60,
            workers: int = 2) -> Iterator[LiveServer]:
    """Run ``edutrust serve`` (gunicorn, 2 workers) on ``port`` with ``env`` until the
    block ends; ready once ``/healthz`` answers 200. One worker where a test needs the
    in-process short-lived store to be shared by every request (throttling)."""
    import urllib.request

    proc = subprocess.Popen([sys.executable, "-m", "edutrust", "serve", "--host", "127.0.0.1",
                             "--port", str(port), "--workers", str(workers)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as resp:
                if resp.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            raise RuntimeError(f"server did not start:\n{out}")
        time.sleep(0.2)
    try:
        yield LiveServer(proc, base)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def live_server(platform: Platform, settings: Settings) -> Iterator[LiveServer]:
    """``edutrust serve`` (gunicorn) on a free loopback port, initialised platform."""
    port = free_port()
    with serving(cli_env(settings, EDUTRUST_ISSUER=f"http://127.0.0.1:{port}"), port) as server:
        yield server
