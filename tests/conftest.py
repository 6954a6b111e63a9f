"""Shared fixtures: the browser (CI may not skip the browser tests), one thread for files of many
small runs, and the cuda marker's skip where no GPU exists."""

import os
import shutil
import sys

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

# Tests compute afresh, in this process and in the servers they start: no result store on disk
# and no warm start, unless a test sets its own (tests/test_serving.py).
os.environ["LAB_STORE"] = "off"
os.environ["LAB_WARM"] = "0"


@pytest.fixture(autouse=True)
def restore_main_module():
    """Streamlit's AppTest runs a page as the module __main__ and leaves it in sys.modules; a process
    pool started later in the same run (a sweep's) would then re-run that page in every worker."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


def pytest_collection_modifyitems(config, items):
    """Tests marked cuda run wherever torch sees a GPU, and are skipped only where it sees none."""
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="no CUDA GPU on this machine")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


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


@pytest.fixture(scope="module")
def one_thread():
    """One thread for torch and BLAS, through the server's own policy (LAB_THREADS=1), restored after:
    for files that make many tiny runs on this shared 2-core machine, where two threads per run
    oversubscribe the cores and tiny matmuls slow down by orders of magnitude."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    with pytest.MonkeyPatch.context() as mp, threadpool_limits(limits=1):
        mp.setenv("LAB_THREADS", "1")
        torch.set_num_threads(1)
        yield
    torch.set_num_threads(before)
