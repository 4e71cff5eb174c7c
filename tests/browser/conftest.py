"""The console in a real browser: Debian's headless Chromium driven by Playwright.

One browser for the session; a fresh context (cookies, storage) per test. The
context refuses every request that leaves the test server, and a test fails on
any request it refused, on any script error and on any console error of the
page: the pages must work with no internet access. Playwright's own browser
download is not used: tests skip, saying why, only when no chromium binary
exists (CI installs Debian's).

With ``CREDENCE_SCREENSHOTS=1`` the tests write their screenshots to
docs/console/ (the README shows them); otherwise nothing is written.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import Client, create_key, credence, live_server, server_env

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "ever-given-2021-03.json"
SCREENSHOTS = ROOT / "docs" / "console"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    binary = chromium_binary()
    if binary is None:
        pytest.skip("no chromium binary on PATH (apt-get install chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=binary, headless=True, args=CHROMIUM_FLAGS
        )
        yield launched
        launched.close()


def load_example(client: Client) -> dict[str, Any]:
    """The README's scenario stored through the API: its sources, then its claims."""
    scenario: dict[str, Any] = json.loads(EXAMPLE.read_text())
    for sid, source in scenario["sources"].items():
        assert client("PUT", f"/v1/sources/{sid}", source).status == 200
    response = client("POST", "/v1/claims", {"claims": scenario["claims"]})
    assert response.status == 200, response.body
    return scenario


def serve(tmp: Path, role: str | None = None) -> Any:
    """``credence serve`` on a new database: keyless, or with a key of ``role`` (the client's)."""
    env = server_env(f"sqlite:///{tmp}/credence.db")
    credence("migrate", env=env)
    key = create_key(env, role) if role else None
    return live_server(env, tmp / "server.log", workers=1, key=key)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[Client]:
    """A keyless server (loopback users have every role) holding the example."""
    with serve(tmp_path_factory.mktemp("browser")) as client:
        load_example(client)
        yield client


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[Client]:
    """A server with keys; the client's key is a read key."""
    with serve(tmp_path_factory.mktemp("browser-keys"), "read") as client:
        yield client


class Page:
    """A page of a fresh browser context, with what went wrong on it recorded."""

    def __init__(self, browser: Any, base: str, viewport: dict[str, int]) -> None:
        self.base = base
        self.context = browser.new_context(viewport=viewport)
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        local = urllib.parse.urlsplit(base).netloc
        self.context.route(lambda url: urllib.parse.urlsplit(url).netloc != local, self._refuse)
        self.page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        self.page.on("console", self._console)
        self.page.on("response", self._response)

    def _console(self, message: Any) -> None:
        # A refused form answers 4xx on purpose; failed files are caught by _response.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"console: {message.text}")

    def _response(self, response: Any) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            self.problems.append(f"{response.status} for {response.url}")

    def _refuse(self, route: Any) -> None:
        self.problems.append(f"request left the server: {route.request.url}")
        route.abort()

    def open(self, path: str) -> Any:
        response = self.page.goto(self.base + path)
        assert response is not None and response.ok, (path, response and response.status)
        return self.page

    def shot(self, name: str, full_page: bool = True) -> None:
        if os.environ.get("CREDENCE_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)

    def close(self) -> None:
        self.context.close()


def _page(browser: Any, server: Client, viewport: dict[str, int]) -> Iterator[Page]:
    page = Page(browser, server.base, viewport)
    try:
        yield page
        assert not page.problems, page.problems
    finally:
        page.close()


@pytest.fixture
def desktop(browser: Any, server: Client) -> Iterator[Page]:
    yield from _page(browser, server, DESKTOP)


@pytest.fixture
def phone(browser: Any, server: Client) -> Iterator[Page]:
    yield from _page(browser, server, PHONE)
