"""Hostile input through every face: links with bad values, bad CLI values, random configurations."""

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from core import cli, contract
from ui.catalog import PHENOMENA

APP = str(Path(__file__).resolve().parents[1] / "app.py")
HOSTILE = {
    "wrong type": "abc",
    "not a number": "nan",
    "huge": "1e308",
    "negative": "-5",
    "repeated": ["1", "2"],
}


def _experiment(spec):
    return contract.get(spec.url_path)


@pytest.mark.parametrize("kind", list(HOSTILE))
@pytest.mark.parametrize("spec", PHENOMENA, ids=lambda s: s.url_path)
def test_link_with_bad_values_opens_at_nearest_valid_settings(spec, kind):
    fields = contract.params(_experiment(spec).config)
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()  # registers st.navigation's pages
    at.query_params = {p.name: HOSTILE[kind] for p in fields}
    at.query_params["no_such_parameter"] = "1"
    at.switch_page(spec.path)
    at.run()
    assert at.title and at.title[0].value == _experiment(spec).title
    assert not at.exception, [e.message for e in at.exception]
    # the page drew something or said plainly why not
    assert at.get("vega_lite_chart") or at.error


@pytest.mark.parametrize("args", [
    ["run", "optimization", "--set", "depth=abc"],
    ["run", "optimization", "--set", "lr=nan"],
    ["run", "optimization", "--set", "n=1e308"],
    ["run", "optimization", "--set", "widths="],
    ["run", "optimization", "--set", "widths=10,,x"],
    ["run", "optimization", "--set", "nosuch=1"],
    ["run", "optimization", "--set", "depth"],
    ["run", "optimization", "--format", "xml"],
    ["run", "nosuch"],
    ["frobnicate"],
])
def test_cli_rejects_bad_input_with_one_line_and_status_2(args, capsys):
    assert cli.main(args) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("error: ")


def test_cli_repeated_key_keeps_the_last_value(capsys):
    assert cli.main(["run", "optimization", "--set", "widths=10", "steps=100", "n=20", "--set", "steps=200"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["config"]["steps"] == 200


def _raw_values(param):
    """Raw strings for one field: valid ones, out-of-range ones and junk."""
    junk = st.sampled_from(["", "abc", "nan", "inf", "-1", "1e308", "0", "1,2,3"])
    if param.choices:
        return st.one_of(st.sampled_from(param.choices), junk)
    if param.kind is bool:
        return st.one_of(st.sampled_from(["true", "false"]), junk)
    lo, hi = param.lo if param.lo is not None else -1e3, param.hi if param.hi is not None else 1e3
    number = st.floats(min_value=lo - 1, max_value=min(hi, lo + 1e4) + 1, allow_nan=False)
    if param.kind in (int, tuple):
        number = st.integers(min_value=int(lo) - 1, max_value=int(min(hi, lo + 1e4)) + 1)
    return st.one_of(number.map(str), junk)


@st.composite
def _raw_config(draw, experiment):
    fields = contract.params(experiment.config)
    chosen = draw(st.lists(st.sampled_from(fields), unique_by=lambda p: p.name, max_size=len(fields)))
    return {p.name: draw(_raw_values(p)) for p in chosen}


@pytest.mark.parametrize("spec", PHENOMENA, ids=lambda s: s.url_path)
def test_random_configurations_are_refused_cleanly_or_run(spec, monkeypatch):
    """Validation and run never raise anything but a ConfigError, under a tiny compute budget."""
    experiment = _experiment(spec)
    monkeypatch.setattr(contract, "FLOP_BUDGET", 2e8)

    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(_raw_config(experiment))
    def check(raw):
        try:
            config = contract.make_config(experiment.config, raw)
            result = experiment.execute(config, device="cpu")
        except contract.ConfigError as err:
            assert "\n" not in str(err) and str(err)
            return
        assert isinstance(result.metrics.get("status", "ok"), str)
        for key in contract.COST_METRICS:
            assert key in result.metrics

    check()
