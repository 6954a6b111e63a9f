"""Every page in real headless Chromium: loads, draws its charts, shows no exception; screenshots
of each page are saved to docs/screenshots (the README's gallery)."""

import pytest

from tests import browser
from tests.conftest import CHROMIUM, require_browser
from ui.catalog import HOME, PHENOMENA


@pytest.fixture(scope="module")
def server():
    require_browser()
    with browser.streamlit_server() as (url, _proc):
        yield url


@pytest.fixture(scope="module")
def chromium():
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=browser.CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.mark.parametrize("spec", [HOME, *PHENOMENA], ids=lambda s: s.url_path)
def test_page_renders_in_a_real_browser(server, chromium, spec):
    page = chromium.new_page(viewport={"width": 1400, "height": 2800})
    try:
        page.goto(f"{server}/{spec.url_path}", timeout=60_000)
        browser.wait_until_idle(page)
        if spec is not HOME:
            page.get_by_text("Why?").first.wait_for(timeout=120_000)
            page.wait_for_selector(".vega-embed canvas, .vega-embed svg", timeout=60_000)
            browser.wait_until_idle(page)
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.locator('[data-testid="stError"]').count() == 0 if spec is not HOME else True
        (browser.SCREENSHOTS / "thumbs").mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(browser.SCREENSHOTS / f"{spec.url_path}.png"), full_page=True)
        if spec is not HOME:
            page.locator(".vega-embed").first.screenshot(path=str(browser.SCREENSHOTS / "thumbs" / f"{spec.url_path}.png"))
    finally:
        page.close()
