"""Lecture and sharing features, as a user sees them in real headless Chromium."""

import csv
import io

import pytest

from core import cli
from tests import browser
from tests.conftest import require_browser

QUICK = "widths=10,50&steps=200&n=40"


@pytest.fixture(scope="module")
def server():
    require_browser()
    with browser.streamlit_server() as (url, _proc):
        yield url


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    p = context.new_page()
    yield p
    context.close()


def _open(page, url):
    page.goto(url, timeout=60_000)
    browser.wait_until_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0


def _download(page, label):
    with page.expect_download() as info:
        page.get_by_role("button", name=label).click()
    return list(csv.DictReader(io.StringIO(open(info.value.path()).read())))


def test_a_link_reproduces_the_chart_exactly(server, page, capsys):
    _open(page, f"{server}/optimization?{QUICK}&depth=1&seed=7")
    assert page.get_by_label("widths", exact=True).input_value().replace(" ", "") == "10,50"
    shown = _download(page, "Download the data (summary.csv)")
    assert cli.main(["run", "optimization", "--set", "widths=10,50", "steps=200", "n=40", "depth=1", "seed=7", "--format", "csv"]) == 0
    text = capsys.readouterr().out
    summary = text.split("# summary\n")[1]
    expected = list(csv.DictReader(io.StringIO(summary)))
    assert [r["width"] for r in shown] == [r["width"] for r in expected]
    for a, b in zip(shown, expected):
        assert float(a["final_loss"]) == pytest.approx(float(b["final_loss"]), rel=1e-5)
        assert float(a["test_loss"]) == pytest.approx(float(b["test_loss"]), rel=1e-5)


def test_a_preset_changes_the_controls_the_link_and_the_chart(server, page):
    _open(page, f"{server}/optimization?{QUICK}")
    before = page.locator(".vega-embed").first.screenshot()
    preset = page.get_by_label("Preset", exact=True)
    preset.click()
    preset.fill("Adam instead")
    preset.press("Enter")
    browser.wait_until_idle(page)
    page.wait_for_function("() => location.search.includes('optimizer=adam')", timeout=60_000)
    page.get_by_text("Why?").wait_for(timeout=120_000)
    browser.wait_until_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator(".vega-embed").first.screenshot() != before


def test_lecture_mode_hides_controls_and_reveals_on_click(server, page):
    _open(page, f"{server}/optimization?{QUICK}&lecture=true")
    assert page.get_by_role("button", name="Reveal").is_visible()
    assert page.locator(".vega-embed").count() == 0
    assert not page.get_by_label("widths", exact=True).is_visible()  # the Controls expander is folded
    page.get_by_text("Wider nets: faster, and test loss no worse").click()
    page.get_by_role("button", name="Reveal").click()
    page.get_by_text("Why?").wait_for(timeout=120_000)
    browser.wait_until_idle(page)
    assert page.locator(".vega-embed").count() >= 1
    assert page.get_by_text("Your prediction:").is_visible()
    page.screenshot(path=str(browser.SCREENSHOTS / "lecture-mode.png"), full_page=True)


def test_pin_and_compare_draws_both_runs(server, page):
    _open(page, f"{server}/optimization?{QUICK}")
    page.get_by_role("button", name="Pin as A").click()
    browser.wait_until_idle(page)
    slider = page.get_by_role("slider", name="depth")
    slider.focus()
    slider.press("ArrowRight")
    page.get_by_text("Comparing").wait_for(timeout=120_000)
    browser.wait_until_idle(page)
    rows = _download(page, "Download the data (summary.csv)")
    assert {r["run"] for r in rows} == {"A (pinned)", "B (current)"}
    page.screenshot(path=str(browser.SCREENSHOTS / "pin-and-compare.png"), full_page=True)
