"""Passkeys in a real browser: headless Chromium (Debian's ``chromium``, never a
downloaded build) driven by Playwright, with the DevTools virtual authenticator (CTAP2,
internal transport, resident keys, user verification) standing in for the phone. Our own
passkeys.js does the work: log in with the password, add a passkey, sign out, sign in
with username + passkey, sign out, sign in username-less.

WebAuthn needs a secure context and a domain as RP ID: the server's issuer is
``http://localhost:PORT`` (loopback http is potentially trustworthy; Chromium refuses
an IP address such as 127.0.0.1 as RP ID), so the RP ID is ``localhost``.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from edutrust.platform import initialise
from edutrust.settings import Settings
from idp.oauth2.server import open_provider
from tests.conftest import REDIS_URL, cli_env, free_port, scratch_database, serving

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium; "
                             ".ci/run installs it, so these tests always run in CI)")
PASSWORD = "Correct-Horse-42"
SCHOOL = "4101990004"


@dataclass
class Site:
    base: str
    username: str
    display_name: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("passkeys-browser")
    with scratch_database(tmp) as url:
        yield from _site(tmp, url)


def _site(tmp: Path, url: str) -> Iterator[Site]:
    port = free_port()
    base = f"http://localhost:{port}"
    settings = Settings(home=tmp / "home", database_url=url, redis_url=REDIS_URL, issuer=base,
                        master_key_b64=None, lang="en", log_level="WARNING")
    platform = initialise(settings, lambda key, **values: None)
    directory = open_provider(base, platform.sessions, platform.keys, platform.fields).directory
    directory.create_organisation(SCHOOL, "测试中学", "school")
    username = "stu-" + uuid.uuid4().hex[:8]
    person = directory.create_person(username, "Passkey Student", password=PASSWORD)
    directory.add_membership(person.id, SCHOOL, "student")
    env = cli_env(settings, EDUTRUST_ISSUER=base, EDUTRUST_LOG_LEVEL="WARNING")
    try:
        with serving(env, port):
            yield Site(base, username, "Passkey Student")
    finally:
        platform.engine.dispose()


@pytest.fixture(scope="module")
def page(site: Site) -> Iterator[Any]:
    """One Chromium page with a virtual platform authenticator attached."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        context = browser.new_context(locale="en-US")
        context.set_default_timeout(20_000)
        page = context.new_page()
        page.add_init_script(NO_AUTOFILL)
        devtools = context.new_cdp_session(page)
        devtools.send("WebAuthn.enable")
        devtools.send("WebAuthn.addVirtualAuthenticator", {"options": {
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
            "hasUserVerification": True, "isUserVerified": True,
            "automaticPresenceSimulation": True}})
        try:
            yield page
        finally:
            context.close()
            browser.close()


def signed_in(page: Any, site: Site) -> None:
    """Wait for the end of a login: security notices first, if any, then /login/done."""
    # Locators wait across navigations; /login/done greets the person by name.
    page.locator(f"ul.notices, h1:has-text('{site.display_name}')").first.wait_for()
    if page.locator("ul.notices").count():
        page.locator("main a").last.click()
        page.locator(f"h1:has-text('{site.display_name}')").wait_for()
    assert page.url.endswith("/login/done")


# Lets the test switch the autofill (conditional mediation) request off, as in a browser
# without it: the virtual authenticator answers such a request at once, which would sign
# in before the button is pressed.
NO_AUTOFILL = """
if (window.localStorage.getItem("test-no-autofill") && window.PublicKeyCredential) {
  PublicKeyCredential.isConditionalMediationAvailable = function () {
    return Promise.resolve(false);
  };
}
"""


def autofill(page: Any, enabled: bool) -> None:
    if enabled:
        page.evaluate("window.localStorage.removeItem('test-no-autofill')")
    else:
        page.evaluate("window.localStorage.setItem('test-no-autofill', '1')")


def asks_options_for(username: str) -> Callable[[Any], bool]:
    """Matches the button's options request for ``username`` ("" when left empty; the
    autofill request sends no username at all)."""
    def matches(request: Any) -> bool:
        if not request.url.endswith("/passkeys/authentication/options"):
            return False
        body = json.loads(request.post_data or "{}")
        return bool(body.get("username") == username)
    return matches


def sign_out(page: Any, site: Site) -> None:
    page.goto(site.base + "/oauth2/logout")
    page.locator("button[value=logout]").click()
    page.wait_for_load_state()
    page.goto(site.base + "/login/done")
    assert page.url.split("?")[0].endswith("/login")


def test_register_a_passkey_then_sign_in_with_it_with_and_without_username(
        page: Any, site: Site) -> None:
    # 1. Password login, then add a passkey on the account page.
    page.goto(site.base + "/login")
    page.fill("#username", site.username)
    page.fill("#password", PASSWORD)
    page.locator("form button[type=submit]").first.click()
    signed_in(page, site)
    page.goto(site.base + "/account/passkeys")
    page.fill("#passkey-name", "Chromium")
    page.click("#passkey-add")
    page.wait_for_selector("li.passkey")
    assert "Chromium" in page.locator("ul.passkeys").inner_text()

    # 2. Sign out; sign in with the username and the passkey (from the login page link).
    sign_out(page, site)
    autofill(page, False)
    page.goto(site.base + "/login")
    page.locator("a[href^='/login/passkey']").click()
    page.wait_for_url(re.compile(r"/login/passkey"))
    page.fill("#username", site.username)
    with page.expect_request(asks_options_for(site.username)):
        page.click("#passkey-sign-in")
    signed_in(page, site)

    # 3. Sign out; sign in username-less (a discoverable credential), by the button ...
    sign_out(page, site)
    page.goto(site.base + "/login/passkey")
    with page.expect_request(asks_options_for("")):
        page.click("#passkey-sign-in")
    signed_in(page, site)

    # ... and by the username field's autofill (conditional mediation), no click at all.
    sign_out(page, site)
    autofill(page, True)
    page.goto(site.base + "/login/passkey")
    signed_in(page, site)
    page.goto(site.base + "/account/passkeys")
    assert "Chromium" in page.locator("ul.passkeys").inner_text()
    assert page.locator("li.passkey").count() == 1
