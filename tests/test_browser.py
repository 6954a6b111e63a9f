"""Every page in real headless Chromium: loads, draws its charts, shows no exception; screenshots
of each page are saved to docs/screenshots (the README's gallery). After the tour, the server's
memory is measured against the README's promise."""

import psutil
import pytest
import torch

from tests import browser
from tests.conftest import require_browser
from ui.catalog import HOME, SWEEPS, Home, phenomena
from ui.page import NO_CUDA_NOTICE

#: The README's promise for one server after a tour of every page at its defaults: 600 MiB
#: (629 MB), under Community Cloud's ~690 MB (measured: about 530 MiB); the imports alone
#: (torch, scipy, scikit-learn, pandas, altair, streamlit) take about 410 MiB.
MEMORY_LIMIT_MIB = 600


@pytest.fixture(scope="module")
def served():
    require_browser()
    with browser.streamlit_server() as (url, proc):
        yield url, proc


@pytest.fixture(scope="module")
def server(served):
    return served[0]


def _open_and_wait(page, url: str, spec) -> None:
    """Open a page and wait for its charts (the first visit computes the defaults: minutes on a
    busy machine)."""
    page.goto(url, timeout=60_000)
    browser.wait_until_idle(page, timeout_ms=300_000)
    if not isinstance(spec, Home):  # an experiment: its run ends with "Why?"
        page.get_by_text("Why?").first.wait_for(timeout=300_000)
        page.wait_for_selector(".vega-embed svg, .vega-embed canvas", timeout=60_000)
        browser.wait_until_idle(page, timeout_ms=300_000)


@pytest.mark.parametrize("spec", [HOME, *phenomena()], ids=lambda s: s.name)
def test_page_renders_in_a_real_browser(server, chromium, spec):
    page = chromium.new_page(viewport={"width": 1400, "height": 2800})
    try:
        _open_and_wait(page, f"{server}/{'' if spec is HOME else spec.name}", spec)  # home is the default page, at /
        assert page.locator('[data-testid="stException"]').count() == 0
        assert page.get_by_text("Page not found").count() == 0
        assert page.locator('[data-testid="stError"]').count() == 0 if spec is not HOME else True
        if spec is not HOME and not torch.cuda.is_available():  # the page says where it runs
            assert page.get_by_text(NO_CUDA_NOTICE, exact=True).is_visible()
        (browser.SCREENSHOTS / "thumbs").mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(browser.SCREENSHOTS / f"{spec.name}.png"), full_page=True)
        if spec is not HOME:
            page.locator(".vega-embed").first.screenshot(path=str(browser.SCREENSHOTS / "thumbs" / f"{spec.name}.png"))
    finally:
        page.close()


def test_server_memory_after_the_tour_stays_under_the_promise(served, chromium):
    """Runs after the page tests above (pytest keeps file order), on the same server."""
    process = psutil.Process(served[1].pid)
    rss = process.memory_info().rss + sum(c.memory_info().rss for c in process.children(recursive=True))
    mib = rss / 2**20
    (browser.ROOT / "docs" / "measurements").mkdir(parents=True, exist_ok=True)
    (browser.ROOT / "docs" / "measurements" / "memory.txt").write_text(
        f"server RSS after visiting all {len(phenomena()) + 1} pages at their defaults: {mib:.0f} MiB\n")
    assert mib < MEMORY_LIMIT_MIB


#: Pages whose phone screenshot goes to docs/screenshots/phone/ (and the README): the overview,
#: two-panel charts, and the widest charts.
PHONE_SHOTS = {"home", "optimization", "scaling", "mode-connectivity"}
#: Pages whose dark-theme screenshot goes to docs/screenshots/dark/.
DARK_SHOTS = ("home", "optimization", "double-descent", "lazy-training")
#: The first chart must start within this many phone screens (the issue's "first two screens").
FIRST_CHART_SCREENS = 2
#: Chart text against the app's background, WCAG contrast: 3 is the minimum for large text.
MIN_TEXT_CONTRAST = 3.0


@pytest.mark.parametrize("spec", [HOME, *phenomena(), SWEEPS], ids=lambda s: s.name)
def test_page_fits_a_phone(server, chromium, spec):
    """At 390 px nothing runs past the right edge (charts included), an experiment's first chart is
    within two screens, and /home (the overview's name) opens the overview without "Page not found"."""
    context = chromium.new_context(**browser.PHONE)
    try:
        page = context.new_page()
        _open_and_wait(page, f"{server}/{spec.name}", spec)
        assert page.get_by_text("Page not found").count() == 0
        assert page.locator('[data-testid="stException"]').count() == 0
        assert browser.overflow(page) == []
        top = browser.first_chart_top(page)
        if spec is not SWEEPS:  # the Sweeps page draws only once a sweep is chosen
            assert top is not None and top < FIRST_CHART_SCREENS * browser.PHONE["viewport"]["height"], top
        if spec.name in PHONE_SHOTS:
            (browser.SCREENSHOTS / "phone").mkdir(parents=True, exist_ok=True)
            browser.screenshot(page, browser.SCREENSHOTS / "phone" / f"{spec.name}.png", height=3000)
    finally:
        context.close()


@pytest.mark.parametrize("spec", [HOME, *phenomena()], ids=lambda s: s.name)
def test_dark_theme_follows_the_browser_and_charts_stay_legible(server, chromium, spec):
    """A browser that prefers dark gets the dark theme, and every chart's text keeps its contrast."""
    name = spec.name
    context = chromium.new_context(viewport={"width": 1400, "height": 2800}, color_scheme="dark")
    try:
        page = context.new_page()
        _open_and_wait(page, f"{server}/{name}", spec)
        colours = page.evaluate(browser.CHART_TEXT_JS)
        assert browser.luminance(colours["background"]) < 0.05, colours["background"]
        assert colours["texts"], "no chart text found"
        faint = [(text, fill) for text, fill in colours["texts"]
                 if browser.contrast(fill, colours["background"]) < MIN_TEXT_CONTRAST]
        assert faint == [], faint
        if name in DARK_SHOTS:
            (browser.SCREENSHOTS / "dark").mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(browser.SCREENSHOTS / "dark" / f"{name}.png"), full_page=True)
    finally:
        context.close()
