"""Driving Debian's Chromium with Playwright on our machines, and what the browser tests share."""

import os
from pathlib import Path

from playwright.sync_api import Page

from devstack.services import REPO_ROOT

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Our machines' network is closed: without these Chromium keeps trying to reach Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(os.environ.get("CONSOLE_SCREENSHOTS", REPO_ROOT / ".run" / "screenshots"))


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Page, console_url: str, *, customer: str | None = None) -> None:
    page.goto(f"{console_url}/signin")
    if customer is None:
        page.get_by_role("button", name="Sign in as the operator").click()
    else:
        page.get_by_label("Customer id").fill(customer)
        page.get_by_role("button", name="Sign in as this customer").click()
