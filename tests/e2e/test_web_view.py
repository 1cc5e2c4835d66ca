"""The farm's web view in a real browser (Debian's chromium, headless, driven by Playwright)
against the running system: the grid follows the event feed without a reload."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.e2e.conftest import example
from tests.e2e.system import System, wait_state

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: Where to write a screenshot of the page (the README's picture), when set.
SCREENSHOT_ENV = "FPGA_CLOUD_UI_SCREENSHOT"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    yield page
    context.close()


def _log_in(page: Page, system: System) -> None:
    page.goto(system.base)
    expect(page.locator("#login")).to_be_visible()
    page.fill("#key", system.api_key)
    page.click("#login button[type=submit]")
    expect(page.locator(".tile")).to_have_count(10)
    expect(page.locator("#status")).to_have_text("live")


def test_the_grid_follows_a_submit_made_elsewhere_within_a_second(
    page: Page, system: System, http: httpx.Client
) -> None:
    _log_in(page, system)
    tile = page.locator("#board-3")
    expect(tile).to_have_attribute("data-state", "idle")
    expect(tile).to_have_attribute("data-health", "good")
    submitted = http.post("/fpga/3/submit", files={"file": ("design.py", example("echo_regs.py"))})
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["job_id"]
    try:
        # The feed moves the tile: no reload, no polling of the board.
        expect(tile).not_to_have_attribute("data-state", "idle", timeout=1000)
        # A click on the busy tile follows the job's log as it is written.
        tile.click()
        expect(page.locator("#job-id")).to_have_text(job_id[:8])
        expect(page.locator("#log")).to_contain_text("[elaborate]", timeout=60_000)
        wait_state(http, 3, "reserved")
        expect(tile).to_have_attribute("data-state", "reserved", timeout=5000)
        owner = http.get("/auth/whoami").json()["key_id"]
        expect(tile.locator(".owner")).to_have_text(f"owner {owner}")
        expect(tile.locator(".lease")).to_contain_text("left")
        if os.environ.get(SCREENSHOT_ENV):
            page.screenshot(path=Path(os.environ[SCREENSHOT_ENV]), full_page=True)
    finally:
        session = http.get("/fpga/3/session")
        if session.status_code == 200:
            headers = {"X-Session-ID": session.json()["session_id"]}
            http.post("/fpga/3/session/release", headers=headers)
        else:
            http.delete(f"/fpga/3/jobs/{job_id}")
    expect(tile).to_have_attribute("data-state", "idle", timeout=30_000)


def test_the_key_is_asked_once_and_kept_in_the_tab_only(page: Page, system: System) -> None:
    _log_in(page, system)
    page.reload()
    expect(page.locator(".tile")).to_have_count(10)  # not asked again in this tab
    assert page.evaluate("window.localStorage.length") == 0
    assert page.evaluate("Object.keys(window.sessionStorage)") == ["fpga-cloud-api-key"]
    page.click("#forget")
    expect(page.locator("#login")).to_be_visible()
    assert page.evaluate("window.sessionStorage.length") == 0


def test_a_wrong_key_is_refused_with_a_message(page: Page, system: System) -> None:
    page.goto(f"{system.base}/ui/")
    page.fill("#key", "fpk_not_a_key")
    page.click("#login button[type=submit]")
    expect(page.locator("#login-error")).to_contain_text("refused")
    expect(page.locator("#farm")).to_be_hidden()
