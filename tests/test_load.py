"""A lecture hall: many browser sessions open one page at once and move a slider.

Every session must draw its chart with no exception, all sessions must show the same numbers,
and the server must compute each shared setting once. The time until the last session has its
chart and the server's peak memory are written to docs/measurements/load.txt (the README quotes
them); they are reported, not asserted.
"""

import threading
import time

import psutil

from tests import browser
from tests.conftest import CHROMIUM, require_browser

SESSIONS = 30
URL_QUERY = "widths=10,50&steps=200&n=40"


def _rss(proc: psutil.Process) -> int:
    try:
        return proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
    except psutil.Error:
        return 0


def test_thirty_sessions_share_one_computation():
    require_browser()
    from playwright.sync_api import sync_playwright

    with browser.streamlit_server() as (url, proc), sync_playwright() as pw:
        server = psutil.Process(proc.pid)
        peak, stop = [0], threading.Event()

        def sample():
            while not stop.is_set():
                peak[0] = max(peak[0], _rss(server))
                time.sleep(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=browser.CHROMIUM_ARGS)
        pages = [chromium.new_context(viewport={"width": 1200, "height": 900}).new_page() for _ in range(SESSIONS)]
        start = time.perf_counter()
        for page in pages:
            page.goto(f"{url}/optimization?{URL_QUERY}", wait_until="commit", timeout=120_000)
        for page in pages:
            page.get_by_text("Why?").wait_for(timeout=300_000)
        first_wave = time.perf_counter() - start
        for page in pages:
            slider = page.get_by_role("slider", name="depth")
            slider.focus()
            slider.press("ArrowRight")
        start = time.perf_counter()
        values = []
        for page in pages:
            page.wait_for_function("() => location.search.includes('depth=3')", timeout=300_000)
            page.get_by_text("Why?").wait_for(timeout=300_000)
            browser.wait_until_idle(page, timeout_ms=300_000)
            assert page.locator('[data-testid="stException"]').count() == 0
            values.append(page.locator('[data-testid="stMetricValue"]').all_inner_texts()[:3])
        second_wave = time.perf_counter() - start
        chromium.close()
        stop.set()
        sampler.join()
        proc.terminate()
        log = proc.communicate(timeout=30)[0].decode()

    assert all(v == values[0] for v in values), values
    computed = [line for line in log.splitlines() if line.startswith("[lab] computing optimization")]
    assert len(computed) == 2, computed  # the first setting once, the moved-slider setting once
    report = (f"{SESSIONS} sessions on one page: all charts drawn {first_wave:.1f} s after opening; "
              f"after each moved a slider, the last chart {second_wave:.1f} s later; "
              f"computations: {len(computed)}; server peak RSS {peak[0] / 2**20:.0f} MiB\n")
    (browser.ROOT / "docs" / "measurements").mkdir(parents=True, exist_ok=True)
    (browser.ROOT / "docs" / "measurements" / "load.txt").write_text(report)
    print(report)
    assert peak[0] > 0
