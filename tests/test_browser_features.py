"""Lecture and sharing features, as a user sees them in real headless Chromium.

What a page drew is read as its data: each chart's table comes with a CSV download built from
the same Result, and those CSVs are compared with the command line's tables for the same setting
(python -m core run NAME --set ... --format csv). Floats are compared to 1e-5 relative: the server
and this test process may run with different thread counts, so the last bits of a sum can differ.
"""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from core import cli, registry
from tests import browser, quick
from tests.conftest import require_browser
from ui.page import FIGURE_KEY

RTOL = 1e-5
#: float32 losses trained down from about 1 keep about 1e-7 of absolute precision: below that a
#: different thread count (LAB_THREADS may give the server's run alone more than the CLI's one) reorders sums.
ATOL = 1e-7
#: Pages whose every CSV download is compared with the CLI: a torch width sweep, a numpy sweep
#: with theory, and a torch depth sweep.
CSV_PAGES = ("optimization", "benign-overfitting", "width-depth")


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


def _open(page, url, ready: str | None = "Why?"):
    """Open a page and wait until its run has finished (the "Why?" box comes last)."""
    page.goto(url, timeout=60_000)
    if ready:
        page.get_by_text(ready, exact=True).first.wait_for(timeout=180_000)
    browser.wait_until_idle(page)
    _no_error(page)


def _no_error(page):
    assert page.locator('[data-testid="stException"]').count() == 0
    errors = page.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, errors.all_inner_texts()


def _query(name: str, extra: dict[str, str] | None = None) -> str:
    raw = {**quick.QUICK.get(name, {}), **(extra or {})}
    return urlencode({k: v.replace(" ", "") for k, v in raw.items()})


def _downloads(page) -> dict[str, list[dict[str, str]]]:
    """Every 'Download the data (TABLE.csv)' button of the page: {table: rows}."""
    labels = page.get_by_role("button", name=re.compile(r"^Download the data \(")).all_inner_texts()
    tables = {}
    for label in labels:
        with page.expect_download() as info:
            page.get_by_role("button", name=label, exact=True).click()
        table = re.fullmatch(r".*-(\w+)\.csv", info.value.suggested_filename).group(1)
        assert label == f"Download the data ({table}.csv)", (label, info.value.suggested_filename)
        with open(info.value.path()) as f:
            tables[table] = list(csv.DictReader(f))
        browser.wait_until_idle(page)  # a download button reruns the page
    assert tables, "no CSV download on the page"
    return tables


def _cli_tables(name: str, raw: dict[str, str], capsys) -> dict[str, list[dict[str, str]]]:
    sets = [f"{k}={v.replace(' ', '')}" for k, v in raw.items()]
    assert cli.main(["run", name, *(["--set", *sets] if sets else []), "--format", "csv", "--device", "cpu"]) == 0
    text = capsys.readouterr().out
    out = {}
    for block in text.split("# ")[1:]:
        table, _, body = block.partition("\n")
        out[table] = list(csv.DictReader(io.StringIO(body)))
    return out


def _same_rows(shown: list[dict[str, str]], expected: list[dict[str, str]], skip: set[str] = frozenset()) -> None:
    assert len(shown) == len(expected), (len(shown), len(expected))
    assert shown and list(shown[0]) == list(expected[0])
    for i, (a, b) in enumerate(zip(shown, expected)):
        for column in a:
            if column in skip or a[column] == b[column]:
                continue
            try:
                x, y = float(a[column]), float(b[column])
            except ValueError:
                raise AssertionError(f"row {i} {column}: {a[column]!r} != {b[column]!r}") from None
            assert x == pytest.approx(y, rel=RTOL, abs=ATOL), f"row {i} {column}: {x} != {y}"


@pytest.mark.parametrize("name", CSV_PAGES)
def test_every_csv_download_equals_the_cli_tables(server, page, capsys, name):
    exp = registry.get(name)
    raw = quick.overrides(exp)
    _open(page, f"{server}/{name}?{_query(name)}")
    shown = _downloads(page)
    expected = _cli_tables(name, raw, capsys)
    assert set(shown) <= set(expected)
    figures = page.locator(f'[class*="st-key-{FIGURE_KEY}_"]')
    assert len(shown) == figures.count(), "a figure without its CSV download"
    for i in range(figures.count()):
        assert figures.nth(i).locator(".vega-embed").count() >= 1, f"figure {i} draws no chart"
    for table, rows in shown.items():
        _same_rows(rows, expected[table], quick.timed(exp, table))


def test_a_preset_changes_the_controls_the_link_and_the_drawn_data(server, page, capsys):
    """On a page whose presets are cheap (each preset sets every control: the rest to defaults)."""
    _open(page, f"{server}/implicit-bias?{_query('implicit-bias')}")
    before = _downloads(page)
    preset = page.get_by_label("Preset", exact=True)
    preset.click()
    preset.fill("From a random w0")
    preset.press("Enter")
    page.wait_for_function("() => new URLSearchParams(location.search).get('init') === '1'", timeout=120_000)
    page.get_by_text("Why?", exact=True).wait_for(timeout=120_000)
    browser.wait_until_idle(page)
    _no_error(page)
    assert float(page.get_by_role("slider", name="start |w₀|").input_value()) == 1.0
    assert parse_qs(urlsplit(page.url).query) == {"init": ["1"]}, page.url  # only what differs from the defaults
    assert "From a random w0" in _preset_box(page)
    after = _downloads(page)
    assert after != before
    expected = _cli_tables("implicit-bias", {"init": "1.0"}, capsys)
    for table, rows in after.items():
        _same_rows(rows, expected[table])
    slider = page.get_by_role("slider", name="training samples n")
    slider.focus()
    slider.press("ArrowRight")  # away from the preset
    page.wait_for_function("() => location.search.includes('n=21')", timeout=60_000)
    browser.wait_until_idle(page)
    assert "(custom)" in _preset_box(page)


def _preset_box(page) -> str:
    """What the preset box shows (its value, or the placeholder text of the chosen option)."""
    box = page.locator('[data-testid="stSelectbox"]', has_text="Preset").first
    return box.inner_text() + " " + page.get_by_label("Preset", exact=True).input_value()


def _share_link(page) -> str:
    page.get_by_text("Share this exact chart").click()
    code = page.locator('[data-testid="stExpander"]', has_text="Share this exact chart").locator("code").first
    code.wait_for(timeout=30_000)
    return code.inner_text().strip()


def test_the_share_link_opens_the_same_data_in_a_fresh_browser(server, page, chromium):
    _open(page, f"{server}/optimization?{_query('optimization', {'depth': '1', 'seed': '7'})}")
    shown = _downloads(page)
    link = _share_link(page)
    assert urlsplit(link).path == "/optimization" and "depth=1" in link and "seed=7" in link, link
    page.mouse.move(0, 0)  # the copy button the box's text points to shows without hovering (a phone cannot)
    assert page.evaluate("""() => {
      let e = document.querySelector('.st-key-share_link button[aria-label="Copy to clipboard"]');
      if (!e) return false;
      for (; e && !e.matches('[data-testid="stCode"]'); e = e.parentElement) {
        const style = getComputedStyle(e);
        if (style.opacity !== '1' || style.visibility !== 'visible') return false;
      }
      return true;
    }""")
    fresh = chromium.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    try:
        other = fresh.new_page()
        _open(other, link)
        assert other.get_by_label("widths (hidden units per layer)", exact=True).input_value().replace(" ", "") == "10,50"
        assert _downloads(other) == shown
    finally:
        fresh.close()


def test_a_slider_moved_during_a_computation_ends_in_the_new_settings_chart(server, page, capsys):
    """A run of about 8e11 FLOPs (several seconds, many progress reports) draws its partial curves
    while it trains and is interrupted by moving a slider; the page must end with the new setting's
    data and no error."""
    slow = {"widths": "500", "steps": "5000", "n": "100"}
    page.goto(f"{server}/optimization?{urlencode(slow)}", timeout=60_000)
    progress = page.get_by_text(re.compile(r"Training… step \d+ of 5000"))
    progress.wait_for(timeout=120_000)
    was = progress.inner_text()
    page.locator(".vega-embed").first.wait_for(timeout=30_000)  # the partial loss curves, drawn while it trains
    assert progress.is_visible(), "the run ended before its partial curves were drawn"
    slider = page.get_by_role("slider", name="hidden layers")
    slider.focus()
    slider.press("ArrowLeft")  # depth 2 -> 1: a run of about 2e10 FLOPs
    page.wait_for_function("() => location.search.includes('depth=1')", timeout=60_000)
    page.get_by_text("Why?").wait_for(timeout=300_000)
    browser.wait_until_idle(page, timeout_ms=300_000)
    _no_error(page)
    step = int(re.search(r"step (\d+)", was).group(1))
    assert step < 5000, f"the first run had finished before the slider moved ({was})"
    shown = _downloads(page)["summary"]
    assert {r["width"] for r in shown} == {"500"}
    _same_rows(shown, _cli_tables("optimization", {**slow, "depth": "1"}, capsys)["summary"])


def test_lecture_mode_hides_controls_and_reveals_on_click(server, page):
    _open(page, f"{server}/optimization?{_query('optimization')}&lecture=true", ready="Reveal")
    assert page.get_by_role("button", name="Reveal").is_visible()
    assert page.locator(".vega-embed").count() == 0
    assert not page.get_by_label("widths (hidden units per layer)", exact=True).is_visible()  # the Controls expander is folded
    page.get_by_text("Wider nets: faster, and test loss no worse").click()
    page.get_by_role("button", name="Reveal").click()
    page.get_by_text("Why?").wait_for(timeout=120_000)
    browser.wait_until_idle(page)
    assert page.locator(".vega-embed").count() >= 1
    assert page.get_by_text("Your prediction:").is_visible()
    assert page.get_by_text("The question").is_visible()
    assert page.get_by_text("Answer: Wider nets: faster, and test loss no worse.").is_visible()  # and why, beside the guess
    assert page.get_by_text("— right.").is_visible()
    assert page.get_by_text("Will it train faster", exact=False).first.is_visible()  # the question stays
    browser.screenshot(page, browser.SCREENSHOTS / "lecture-mode.png")
    page.get_by_text("Controls", exact=True).click()  # after Reveal the page is live: a control redraws at once
    slider = page.get_by_role("slider", name="hidden layers")
    slider.focus()
    slider.press("ArrowRight")
    page.wait_for_function("() => location.search.includes('depth=3')", timeout=60_000)
    page.get_by_text("Why?").wait_for(timeout=120_000)
    browser.wait_until_idle(page)
    assert page.get_by_role("button", name="Reveal").count() == 0
    assert page.locator(".vega-embed").count() >= 1
    assert page.get_by_text("Your prediction:").is_visible()
    page.get_by_role("button", name="Ask again").click()  # the next question hides the chart again
    page.get_by_role("button", name="Reveal").wait_for(timeout=60_000)
    assert page.locator(".vega-embed").count() == 0


def test_lecture_mode_on_a_phone_reveals_with_large_metrics(server, chromium):
    """The lecture screenshot on a phone; metric values larger than body text, nothing past the edge."""
    context = chromium.new_context(**browser.PHONE)
    try:
        page = context.new_page()
        _open(page, f"{server}/optimization?{_query('optimization')}&lecture=true", ready="Reveal")
        page.get_by_role("button", name="Reveal").click()
        page.get_by_text("Why?").wait_for(timeout=120_000)
        browser.wait_until_idle(page)
        sizes = page.evaluate("""() => [
          parseFloat(getComputedStyle(document.querySelector('[data-testid="stMetricValue"] p')).fontSize),
          parseFloat(getComputedStyle(document.querySelector('[data-testid="stMain"] p')).fontSize)]""")
        assert sizes[0] > 2 * sizes[1], sizes
        assert browser.overflow(page) == []
        (browser.SCREENSHOTS / "phone").mkdir(parents=True, exist_ok=True)
        browser.screenshot(page, browser.SCREENSHOTS / "phone" / "lecture-mode.png", height=3000)
    finally:
        context.close()


def test_pin_and_compare_draws_both_runs(server, page, chromium, capsys):
    _open(page, f"{server}/optimization?{_query('optimization')}")
    page.get_by_role("button", name="Pin as A").click()
    browser.wait_until_idle(page)
    slider = page.get_by_role("slider", name="hidden layers")
    slider.focus()
    slider.press("ArrowRight")
    page.get_by_text("Comparing").wait_for(timeout=120_000)
    browser.wait_until_idle(page)
    rows = _downloads(page)["summary"]
    assert {r["run"] for r in rows} == {"A (pinned)", "B (current)"}
    raw = quick.QUICK["optimization"]
    for run, depth in (("A (pinned)", "2"), ("B (current)", "3")):
        mine = [{k: v for k, v in r.items() if k != "run"} for r in rows if r["run"] == run]
        _same_rows(mine, _cli_tables("optimization", {**raw, "depth": depth}, capsys)["summary"])
    assert page.locator(".vega-embed svg text", has_text="A (pinned)").count() >= 1  # the legend tells A from B
    browser.screenshot(page, browser.SCREENSHOTS / "pin-and-compare.png")
    link = _share_link(page)
    assert "pin=" in link, link
    fresh = chromium.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    try:
        other = fresh.new_page()
        _open(other, link)
        assert other.get_by_text("Comparing").is_visible()  # the link reproduces the comparison, not only B
        assert _downloads(other)["summary"] == rows
    finally:
        fresh.close()

