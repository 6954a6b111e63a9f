"""Two server processes, one result store: a setting computed by one server is served by the other
without training. This is how several Streamlit processes on one machine (or a restart) share
results; the store's key and atomic writes are what make it safe."""

import socket

from tests import browser
from tests.conftest import CHROMIUM, require_browser

PAGE = "implicit-bias"
COMPUTING = "[lab] computing"


def test_a_result_computed_by_one_server_is_served_by_the_other(tmp_path, monkeypatch):
    require_browser()
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("LAB_STORE", str(tmp_path / "store"))  # both servers inherit it
    with (browser.streamlit_server() as (first, one), browser.streamlit_server() as (second, two),
          sync_playwright() as pw):
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=browser.CHROMIUM_ARGS)
        for url in (first, second):
            page = chromium.new_context(viewport={"width": 1400, "height": 900}).new_page()
            page.goto(f"{url}/{PAGE}", timeout=120_000)
            page.get_by_text("Why?").wait_for(timeout=300_000)
            captions = page.locator("[data-testid=stCaptionContainer]").all_inner_texts()
            served = [c for c in captions if c.startswith("Served from the result store (computed ")]
            if url == second:
                assert len(served) == 1 and served[0].endswith(f" on {socket.gethostname()})."), captions
            else:
                assert served == [], captions
        chromium.close()
    logs = [proc.stdout.read().decode() for proc in (one, two)]
    assert logs[0].count(COMPUTING) == 1, logs[0]
    assert COMPUTING not in logs[1], logs[1]
