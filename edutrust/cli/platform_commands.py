"""``edutrust init``, ``edutrust serve`` and ``edutrust keys``."""

from __future__ import annotations

import os

import click

from edutrust import logs
from edutrust.cli.common import CliError, emit_json, say
from edutrust.platform import PLATFORM_KEYS, PlatformError, initialise, open_platform
from edutrust.settings import Settings


def _platform_error(exc: PlatformError) -> CliError:
    return CliError(exc.key, **exc.values)


@click.command()
@click.option("--demo", is_flag=True,
              help="also create the demo school, teacher, student and client, and print "
                   "their credentials (once)")
def init(demo: bool) -> None:
    """Create $EDUTRUST_HOME, the database, the master key, platform keys and CA.
    Safe to run again: it changes nothing that exists."""
    settings = Settings.from_env()
    try:
        platform = initialise(settings, say)
    except PlatformError as exc:
        raise _platform_error(exc) from None
    from edutrust.demo import create_demo
    from idp.oauth2.server import open_provider

    # Creates the provider's own keys (ES256, RS256, derived secrets) now, not at first use.
    open_provider(settings.issuer, platform.sessions, platform.keys, platform.fields)
    if demo:
        credentials = create_demo(platform, say)
        if credentials is not None:
            emit_json(credentials)
    say("init.done")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, type=click.IntRange(1, 65535), show_default=True)
@click.option("--workers", default=None, type=click.IntRange(1, 256),
              help="gunicorn worker processes (default: number of cores)")
@click.option("--dev", is_flag=True, help="Flask's development server instead of gunicorn")
def serve(host: str, port: int, workers: int | None, dev: bool) -> None:
    """Serve the platform over HTTP."""
    settings = Settings.from_env()
    logs.configure(settings.log_level)
    try:
        from edutrust.app import create_app

        if dev:
            app = create_app(open_platform(settings))
            say("serve.listening", host=host, port=port, server="flask --dev")
            app.run(host=host, port=port, debug=False, use_reloader=False)
            return
        # Fail now, in the parent, with a clear message, rather than in every worker.
        open_platform(settings).engine.dispose()
    except PlatformError as exc:
        raise _platform_error(exc) from None
    from edutrust.server import run_gunicorn

    count = workers or os.cpu_count() or 1
    say("serve.listening", host=host, port=port, server=f"gunicorn, {count} workers")
    run_gunicorn(settings, host, port, count)


@click.group()
def keys() -> None:
    """Platform keys (wrapped under the master key)."""


@keys.command()
@click.argument("key_id", required=False)
def rotate(key_id: str | None) -> None:
    """Add a new version of a platform key (default: platform-signing). Older versions
    stay published and usable for verification until retired."""
    settings = Settings.from_env()
    try:
        platform = open_platform(settings)
    except PlatformError as exc:
        raise _platform_error(exc) from None
    target = key_id or PLATFORM_KEYS[0][0]
    if not platform.keys.versions(target):
        raise CliError("keys.unknown", key_id=target)
    info = platform.keys.rotate(target)
    say("keys.rotated", key_id=target, kid=info.kid)
    emit_json({"key_id": info.key_id, "version": info.version, "kid": info.kid,
               "algorithm": info.algorithm, "created_at": info.created_at.isoformat()})
