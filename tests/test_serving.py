"""Serving from the store: the warm start fills it, a page then serves from it without training and
says so, and the warm start gives way to a visitor's run."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import registry, rendering, store, warm
from core.queue import ComputeQueue

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
CHEAP = "implicit-bias"


@pytest.fixture
def warmed(tmp_path):
    """A store that `python -m core warm implicit-bias` filled, in its own process."""
    env = {**os.environ, "LAB_STORE": str(tmp_path / "store")}
    done = subprocess.run([sys.executable, "-m", "core", "warm", CHEAP], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return tmp_path / "store", done.stdout


def test_warm_computes_the_defaults_and_every_preset_once(warmed):
    path, out = warmed
    experiment = registry.get(CHEAP)
    settings = list(warm.settings(experiment))
    assert len(settings) == len({str(c) for c in settings}) >= 2  # defaults and presets, each once
    assert out.startswith(f"{len(settings)} computed, 0 already stored, 0 failed")
    results = store.ResultStore(path)
    assert all((CHEAP, config, "cpu") in results for config in settings)
    again = warm.warm(results, "cpu", names=[CHEAP])
    assert (again.computed, again.stored) == (0, len(settings))
    for config in settings:  # each stored with the charts the page would render from it
        stored = results.get(CHEAP, config, "cpu")
        assert stored.rendered and stored.rendered == rendering.render(experiment, stored.result)


def test_a_fresh_server_serves_a_warmed_page_from_the_store_without_training(warmed, monkeypatch, capfd):
    from ui import serving

    path, _ = warmed
    monkeypatch.setenv("LAB_STORE", str(path))
    serving.shared_store.clear()
    serving.shared_cache.clear()
    try:
        at = AppTest.from_file(APP, default_timeout=120)
        at.run()
        at.switch_page(registry.get(CHEAP).page)
        at.run()
        assert not at.exception
        assert any("Served from the result store (computed" in c.value for c in at.caption)
        assert "[lab] computing" not in capfd.readouterr().err
    finally:
        monkeypatch.setenv("LAB_STORE", "off")
        serving.shared_store.clear()
        serving.shared_cache.clear()


def test_the_warm_start_gives_way_to_a_visitor_and_resumes(tmp_path):
    """A visitor arriving mid-run makes the warm run abandon its work (storing nothing), and the
    warm start finishes the setting once the visitor's run is done."""
    jobs, results = ComputeQueue(1), store.ResultStore(tmp_path / "s")
    visitor_waiting, visitor_done, first_progress = threading.Event(), threading.Event(), threading.Event()
    abandoned = []

    def should_pause():
        first_progress.set()
        if visitor_waiting.is_set() and not visitor_done.is_set():
            abandoned.append(True)
            return True
        return False

    def guard(experiment, config):
        return jobs.slot("warm", 1.0, background=True)

    def visitor():
        assert first_progress.wait(120)
        with jobs.slot("visitor", 1.0, lambda ahead, eta: visitor_waiting.set()):
            visitor_waiting.set()
        visitor_done.set()

    thread = threading.Thread(target=visitor, daemon=True)
    thread.start()
    done = warm.warm(results, "cpu", names=[CHEAP], should_pause=should_pause, guard=guard, idle_poll_s=0.01)
    thread.join(60)
    assert visitor_done.is_set() and abandoned
    assert done.computed == len(list(warm.settings(registry.get(CHEAP))))


def test_after_warm_a_fresh_server_serves_every_page_at_its_defaults_without_training(tmp_path, monkeypatch, capfd):
    """`python -m core warm --defaults-only` in its own process, then a server that has computed
    nothing opens every page: each is served from the store, and nothing is computed or rendered,
    so a first visit does a cached revisit's work (bench/revisit.py times both)."""
    from ui import page, serving

    path = tmp_path / "store"
    env = {**os.environ, "LAB_STORE": str(path), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "core", "warm", "--defaults-only"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{len(registry.names())} computed, 0 already stored, 0 failed"), done.stdout
    monkeypatch.setenv("LAB_STORE", str(path))
    serving.shared_store.clear()
    serving.shared_cache.clear()
    page._rendered.clear()
    renders = []
    real_render = rendering.render
    monkeypatch.setattr(rendering, "render", lambda *args: renders.append(args[0].name) or real_render(*args))
    capfd.readouterr()
    try:
        for experiment in registry.experiments():  # each page as a new visitor opens it: AppTest keeps
            at = AppTest.from_file(APP, default_timeout=120)  # widget state across switch_page, a browser does not
            at.run()
            at.switch_page(experiment.page)
            at.run()
            assert not at.exception, (experiment.name, at.exception)
            served = [c.value for c in at.caption if c.value.startswith("Served from the result store (computed")]
            assert served, f"{experiment.name}: not served from the store"
            assert at.get("vega_lite_chart"), f"{experiment.name}: no chart drawn"
        assert "[lab] computing" not in capfd.readouterr().err
        assert renders == [], f"charts rendered on a first visit: {renders}"
    finally:
        monkeypatch.setenv("LAB_STORE", "off")
        serving.shared_store.clear()
        serving.shared_cache.clear()
