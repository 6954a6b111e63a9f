"""The persistent result store: round trip, keys that change with the Config, the device and the
code, corrupt entries recomputed, the size bound, LAB_STORE, and a result shared between processes."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from core import contract, store
from core.contract import Result

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def results(tmp_path):
    return store.ResultStore(tmp_path / "store")


def _result(value: float) -> Result:
    return Result({"final": value}, {"t": pd.DataFrame({"x": [1.0, 2.0], "y": [value, 2 * value]})}, contract.warning("w"))


def _config(**overrides):
    from core.experiments import implicit_bias

    return implicit_bias.Config(**overrides)


def test_a_stored_result_comes_back_equal_with_where_it_was_computed(results):
    results.put("implicit-bias", _config(), "cpu", _result(0.5))
    stored = results.get("implicit-bias", _config(), "cpu")
    assert stored.result.metrics == {"final": 0.5}
    assert str(stored.result.status) == "w"
    pd.testing.assert_frame_equal(stored.result.tables["t"], _result(0.5).tables["t"])
    assert stored.host and "computed" in stored.provenance()


def test_the_key_changes_with_config_device_experiment_and_code(results, monkeypatch):
    results.put("implicit-bias", _config(), "cpu", _result(0.5))
    assert results.get("implicit-bias", _config(seed=1), "cpu") is None
    assert results.get("implicit-bias", _config(), "cuda") is None
    assert results.get("double-descent", _config(), "cpu") is None
    monkeypatch.setattr(store, "code_version", lambda: "another version")
    assert results.get("implicit-bias", _config(), "cpu") is None


def test_the_rendered_charts_come_back_with_the_result(results):
    from core.rendering import Rendered

    figure = Rendered("t", "a caption", "t", {"mark": "line", "data": {"values": [{"x": 1}]}}, b"x,y\n1,0.5\n")
    results.put("implicit-bias", _config(), "cpu", _result(0.5), (figure,))
    assert results.get("implicit-bias", _config(), "cpu").rendered == (figure,)
    results.put("implicit-bias", _config(seed=1), "cpu", _result(0.5))  # stored unrendered: the page renders
    assert results.get("implicit-bias", _config(seed=1), "cpu").rendered == ()


def test_an_upgrade_of_the_library_that_renders_gives_a_new_key(results, monkeypatch):
    """The store keeps Altair's Vega-Lite specs, so an Altair upgrade must not serve the old ones."""
    before = results.key("implicit-bias", _config(), "cpu")
    real = store.metadata.version
    monkeypatch.setattr(store.metadata, "version", lambda name: "0.0.1" if name == "altair" else real(name))
    store.code_version.cache_clear()
    try:
        assert results.key("implicit-bias", _config(), "cpu") != before
    finally:
        monkeypatch.undo()
        store.code_version.cache_clear()
    assert results.key("implicit-bias", _config(), "cpu") == before


def test_a_corrupt_entry_is_dropped_and_recomputed_never_raised(results):
    key = results.key("implicit-bias", _config(), "cpu")
    results._cache.set(key, b"not a stored result")
    assert results.get("implicit-bias", _config(), "cpu") is None
    assert key not in results._cache
    # an entry whose pickle no longer loads (e.g. a class renamed by an upgrade)
    results._cache.set(key, _Unloadable())
    assert results.get("implicit-bias", _config(), "cpu") is None


class _Unloadable:
    def __reduce__(self):
        return (_fail, ())


def _fail():
    raise RuntimeError("cannot load")


def test_the_store_stays_within_its_size_limit(tmp_path):
    small = store.ResultStore(tmp_path / "small", size_limit=2 * 2**20)
    big = pd.DataFrame({"x": range(40_000)}, dtype=float)  # ~320 kB pickled
    for seed in range(30):
        small.put("implicit-bias", _config(seed=seed), "cpu", Result({}, {"t": big}))
    assert small._cache.volume() < 3 * 2**20
    assert small.get("implicit-bias", _config(seed=29), "cpu") is not None  # the newest stays
    assert small.get("implicit-bias", _config(seed=0), "cpu") is None  # the oldest went


def test_lab_store_names_the_directory_or_turns_it_off(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_STORE", "off")
    assert store.open_store(by_default=True) is None
    monkeypatch.setenv("LAB_STORE", str(tmp_path / "named"))
    assert store.open_store(by_default=False).directory == tmp_path / "named"
    monkeypatch.delenv("LAB_STORE")
    assert store.open_store(by_default=False) is None
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert store.open_store(by_default=True).directory == tmp_path / "xdg" / "overparameterization-lab"


def test_a_result_computed_by_the_cli_is_read_by_another_process(tmp_path):
    env = {**os.environ, "LAB_STORE": str(tmp_path / "shared")}
    args = ["--set", "steps=200", "n=20", "p=40"]
    run = subprocess.run([sys.executable, "-m", "core", "run", "implicit-bias", *args], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    config = contract.make_config(_config().__class__, {"steps": "200", "n": "20", "p": "40"})
    stored = store.ResultStore(tmp_path / "shared").get("implicit-bias", config, "cpu")
    assert stored is not None
    assert '"train_loss": ' + repr(stored.result.metrics["train_loss"]) in run.stdout
    from core import registry
    from core.rendering import render

    assert stored.rendered and stored.rendered == render(registry.get("implicit-bias"), stored.result)
