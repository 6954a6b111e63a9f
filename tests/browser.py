"""A real server and a real browser: `streamlit run` headless on a free port, Debian Chromium
driven by Playwright. Shared by the browser tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server() -> Iterator[tuple[str, subprocess.Popen]]:
    """Start the app as a user would, yield its base URL and process, stop it afterwards."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
           # no file watcher: an edit elsewhere in the tree would show "File change" and keep
           # the status widget that wait_until_idle waits to disappear
           "--server.fileWatcherType", "none"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                    break
            time.sleep(0.3)
        else:
            raise RuntimeError("streamlit did not start within 60 s")
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_until_idle(page, timeout_ms: int = 120_000) -> None:
    """Wait for the script run to finish: the 'running' status widget gone, charts drawn."""
    page.wait_for_selector("h1", timeout=timeout_ms)
    page.wait_for_timeout(500)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms)
    page.wait_for_timeout(800)


#: A phone as the browser tests see one: 390 x 844 CSS pixels and a phone's User-Agent (the app
#: folds its controls for a "Mobi" agent, as it does for a real phone).
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/130.0 Mobile Safari/537.36",
    "is_mobile": True,
    "has_touch": True,
}

#: What runs past the right edge of the window: the document, the main area, or any chart (a
#: chart can be clipped by its container without widening the document, so each is measured).
OVERFLOW_JS = """() => {
  const width = window.innerWidth, out = [];
  const main = document.querySelector('[data-testid="stMain"]');
  if (document.scrollingElement.scrollWidth > width) out.push('document ' + document.scrollingElement.scrollWidth);
  if (main && main.scrollWidth > width) out.push('main area ' + main.scrollWidth);
  document.querySelectorAll('[data-testid="stMain"] .vega-embed, [data-testid="stMain"] .vega-embed > svg, '
                            + '[data-testid="stMain"] .vega-embed > canvas').forEach((e, i) => {
    const r = e.getBoundingClientRect();
    if (r.width > 0 && r.right > width + 1) out.push('chart ' + i + ' ends at ' + Math.round(r.right));
  });
  return out;
}"""


def overflow(page) -> list[str]:
    """Everything that runs past the right edge of the window (empty when the page fits)."""
    return page.evaluate(OVERFLOW_JS)


def first_chart_top(page) -> float | None:
    """Where the first chart starts, in CSS pixels from the top of the page."""
    return page.evaluate("() => { const c = document.querySelector('.vega-embed');"
                         " return c ? c.getBoundingClientRect().top : null; }")


#: Text colours of every chart and the app's background, to measure contrast on either theme.
CHART_TEXT_JS = """() => {
  const bg = getComputedStyle(document.querySelector('.stApp')).backgroundColor;
  const fills = [...document.querySelectorAll('.vega-embed svg text')]
    .filter(t => t.textContent.trim() && getComputedStyle(t).opacity !== '0')
    .map(t => [t.textContent.trim().slice(0, 40), getComputedStyle(t).fill]);
  return {background: bg, texts: fills};
}"""


def _channels(color: str) -> tuple[float, float, float]:
    """(r, g, b) in 0..1 from "#rrggbb", "rgb(r, g, b)" or "rgba(...)"."""
    if color.startswith("#"):
        return tuple(int(color[i:i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]
    parts = color[color.index("(") + 1:color.index(")")].split(",")
    return tuple(float(p) / 255 for p in parts[:3])  # type: ignore[return-value]


def luminance(color: str) -> float:
    """WCAG relative luminance of a CSS colour."""
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(c) for c in _channels(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two CSS colours (1 to 21; body text wants 4.5, large text 3)."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def screenshot(page, path, height: int = 2800) -> None:
    """The whole page from its top: Streamlit scrolls inside its main area, so a "full page"
    screenshot is only the window; the window is made ``height`` tall first."""
    page.set_viewport_size({"width": page.viewport_size["width"], "height": height})
    page.mouse.move(0, height - 1)  # no tooltip from whatever the pointer last clicked
    page.evaluate("() => document.querySelectorAll('*').forEach(e => { if (e.scrollTop > 0) e.scrollTop = 0; })")
    wait_until_idle(page)
    page.screenshot(path=str(path), full_page=True)
