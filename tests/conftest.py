"""Shared fixtures: page catalogue, and the rule that CI may not skip the browser tests."""

import os
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def browser_available() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return os.path.exists(CHROMIUM)


def require_browser() -> None:
    """Skip without a browser on a developer's machine; fail under CI, where it must run."""
    if browser_available():
        return
    message = "Debian chromium and the playwright package are needed for the browser tests"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI must not skip them)")
    pytest.skip(message)


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium driven by Playwright (it downloads no browser of its own)."""
    require_browser()
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM_ARGS

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
