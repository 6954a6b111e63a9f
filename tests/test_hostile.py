"""Hostile input through every face: links with bad values, bad CLI values, random configurations."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import cli, contract, registry
from core.contract import ConfigError, Experiment
from tests import quick

NAMES = registry.names()

# ---------------------------------------------------------------------------------------------
# links with bad values

HOSTILE = {
    "wrong type": "abc",
    "not a number": "nan",
    "huge": "1e308",
    "negative": "-5",
    "repeated": ["1", "2"],
}


def _corrected(p: contract.Param, raw: str | list[str]) -> tuple[Any, bool]:
    """What the page must run with for a link value, and whether it must say it corrected it:
    a valid value as it is; a number out of range clamped to the range (a list: each item); any
    other bad value the default. A repeated key keeps its last value (as the CLI and
    st.query_params do), with a notice. Written out here, not taken from contract.nearest_valid,
    so that a wrong correction there fails this test."""
    values = raw if isinstance(raw, list) else [raw]
    text = values[-1]
    try:
        return contract.coerce(p, text), len(values) > 1
    except ConfigError:
        pass
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if p.kind not in (int, float, tuple) or p.choices or not math.isfinite(number):
        return p.default, True
    clamped = min(max(number, p.lo), p.hi)
    if p.kind is tuple:
        return (int(clamped),), True
    return p.kind(clamped), True


def _hostile_link(exp: Experiment, bad: str | list[str]) -> tuple[dict[str, Any], Any, set[str]]:
    """A link: the cheap setting, with the hostile value on every field where its correction keeps
    the run cheap, valid and ok (on all fields the setting would often be over the budget, or
    diverge, and the page would rightly draw no chart). Returns the query, the Config the page
    must run with, and the fields whose correction the page must announce."""
    base = dict(quick.overrides(exp))
    fields = contract.params(exp.config)
    chosen: list[str] = []
    for p in fields:
        try:
            candidate = _expected(exp, base, [*chosen, p.name], bad)
            contract.validate(candidate)
        except ConfigError:
            continue
        if exp.flops(candidate) <= quick.CHEAP_FLOPS:
            chosen.append(p.name)

    def runs_ok(names: list[str]) -> bool:
        return exp.execute(_expected(exp, base, names, bad), device="cpu").status.ok

    if not runs_ok(chosen):  # e.g. diverged: keep, in order, the corrections that still run ok
        candidates, chosen = chosen, []
        for name in candidates:
            if runs_ok([*chosen, name]):
                chosen.append(name)
    noticed = {p.name for p in fields if p.name in chosen and _corrected(p, bad)[1]}
    return {**base, **dict.fromkeys(chosen, bad)}, _expected(exp, base, chosen, bad), noticed


def _expected(exp: Experiment, base: dict[str, str], hostile: list[str], bad: str | list[str]) -> Any:
    config = contract.make_config(exp.config, base)
    values = {p.name: _corrected(p, bad)[0] for p in contract.params(exp.config) if p.name in hostile}
    return dataclasses.replace(config, **values)


@pytest.mark.parametrize("kind", list(HOSTILE))
@pytest.mark.parametrize("name", NAMES)
def test_link_with_bad_values_opens_at_nearest_valid_settings(name, kind, one_thread):
    exp = registry.get(name)
    query, expected, noticed = _hostile_link(exp, HOSTILE[kind])
    hostile = {k for k, v in query.items() if v == HOSTILE[kind]}
    assert hostile, "the link carries no hostile value"
    at = quick.open_page(exp, {**query, "no_such_parameter": "1"})
    assert at.title and at.title[0].value == exp.title
    quick.assert_drew_a_chart(at)
    assert quick.page_config(at, exp) == expected
    notices = [i.value for i in at.info if i.value.startswith("Link corrected: ")]
    for field in sorted(noticed):
        text = contract.to_text(getattr(expected, field))
        said = [n for n in notices if n.startswith(f"Link corrected: {field}: ")]
        assert len(said) == 1, f"no notice for {field}: {notices}"
        assert said[0].endswith(f" — using {text}"), said[0]
    assert len(notices) == len(noticed), notices


# ---------------------------------------------------------------------------------------------
# the command line


@pytest.mark.parametrize("args", [
    ["run", "optimization", "--set", "depth=abc"],
    ["run", "optimization", "--set", "lr=nan"],
    ["run", "optimization", "--set", "n=1e308"],
    ["run", "optimization", "--set", "widths="],
    ["run", "optimization", "--set", "widths=10,,x"],
    ["run", "optimization", "--set", "nosuch=1"],
    ["run", "optimization", "--set", "depth"],
    ["run", "optimization", "--format", "xml"],
    ["run", "optimization", "--device", "tpu"],
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


# ---------------------------------------------------------------------------------------------
# random configurations: drawn within the budget, so that they train

#: Examples per experiment, and the share of them that must train.
EXAMPLES = 20
MUST_TRAIN = 0.8
#: Estimated FLOPs a drawn configuration may need: the cheap setting's, or this if larger.
DRAW_FLOPS = 1e9


def _cost_fields(exp: Experiment, base: Any) -> set[str]:
    """Fields whose largest value raises the estimate from the cheap setting's: drawn small."""
    out = set()
    for p in contract.params(exp.config):
        if p.kind in (int, float, tuple) and not p.choices:
            top = (int(p.hi),) if p.kind is tuple else p.kind(p.hi)
            if exp.flops(dataclasses.replace(base, **{p.name: top})) > exp.flops(base):
                out.add(p.name)
    return out


def _number(p: contract.Param, top: float, kind: type) -> st.SearchStrategy:
    """A number in [lo, top]: log-uniform where the range spans decades, else uniform."""
    lo = p.lo
    if kind is int:
        if top - lo > 100:
            return st.floats(math.log(lo + 1), math.log(top + 1)).map(lambda u: min(int(top), max(int(lo), round(math.exp(u)) - 1)))
        return st.integers(int(lo), int(top))
    if p.log:
        return st.floats(math.log(lo), math.log(top)).map(lambda u: min(top, max(lo, math.exp(u))))
    return st.floats(lo, top, allow_nan=False)


def _valid_text(p: contract.Param, top: float) -> st.SearchStrategy[str]:
    if p.choices:
        return st.sampled_from(p.choices)
    if p.kind is bool:
        return st.sampled_from(["true", "false"])
    if p.kind is tuple:
        item = _number(p, top, int)
        return st.lists(item, min_size=1, max_size=max(1, min(p.max_len, len(p.default) + 1))).map(
            lambda xs: ",".join(map(str, xs)))
    return _number(p, top, p.kind).map(repr if p.kind is float else str)


def _budget(exp: Experiment) -> float:
    return max(DRAW_FLOPS, exp.flops(quick.cheap(exp)))


def _repair(exp: Experiment, base: Any, config: Any) -> Any:
    """Back to the cheap setting one field at a time (the first that makes it acceptable, else the
    one that saves most) until the Config passes its cross-field checks and is within _budget."""
    budget = _budget(exp)

    def ok(c: Any) -> bool:
        try:
            contract.validate(c)
        except ConfigError:
            return False
        return exp.flops(c) <= budget

    while not ok(config):
        differing = [p.name for p in contract.params(exp.config) if getattr(config, p.name) != getattr(base, p.name)]
        options = [dataclasses.replace(config, **{k: getattr(base, k)}) for k in differing]
        valid = [c for c in options if ok(c)]
        config = valid[0] if valid else min(options, key=exp.flops)
    return config


@st.composite
def _drawn(draw: Any, exp: Experiment) -> dict[str, str]:
    """Raw texts for every field, as a link or --set gives them: each the cheap setting's value or
    one drawn from its bounds (costly fields no larger than the defaults), then repaired."""
    base = quick.cheap(exp)
    costly = _cost_fields(exp, base)
    raw = {}
    for p in contract.params(exp.config):
        value = getattr(base, p.name)
        top = p.hi
        if p.name in costly:
            default = max(p.default) if p.kind is tuple else p.default
            top = max(default, max(value) if p.kind is tuple else value)
        raw[p.name] = draw(st.one_of(st.just(contract.to_text(value)), _valid_text(p, top)))
    config = _repair(exp, base, contract.make_config(exp.config, raw))
    return {p.name: contract.to_text(getattr(config, p.name)) for p in contract.params(exp.config)}


@pytest.mark.parametrize("name", NAMES)
def test_random_configurations_train(name, one_thread):
    """Random settings within the budget run: the cost row is filled, and the tables are non-empty
    (and finite when the status is ok). At least 80% of the examples must train, not be refused."""
    exp = registry.get(name)
    outcomes: list[str] = []
    configs: set[Any] = set()

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
              database=None)
    @given(_drawn(exp))
    def check(raw: dict[str, str]) -> None:
        try:
            config = contract.make_config(exp.config, raw)
            result = exp.execute(config, device="cpu")
        except ConfigError as err:
            assert "\n" not in str(err) and str(err)
            outcomes.append(f"refused: {err}")
            return
        outcomes.append("trained")
        quick.assert_cost_row(exp, config, result)
        if result.status.ok:
            quick.assert_tables_finite(exp, result.tables)
        configs.add(config)

    check()
    trained = outcomes.count("trained") / len(outcomes)
    print(f"{name}: {outcomes.count('trained')} of {len(outcomes)} examples trained ({trained:.0%}), "
          f"{len(configs)} distinct settings")
    assert trained >= MUST_TRAIN, f"only {trained:.0%} of the examples trained: {outcomes}"
    assert len(configs) >= len(outcomes) // 2, f"the strategy drew only {len(configs)} distinct settings"


@st.composite
def _poisoned(draw: Any, exp: Experiment) -> tuple[dict[str, str], str]:
    """A drawn setting with one field's value out of its bounds."""
    raw = draw(_drawn(exp))
    victim = draw(st.sampled_from([p for p in contract.params(exp.config) if quick.out_of_bounds(p)]))
    raw[victim.name] = draw(st.sampled_from(quick.out_of_bounds(victim)))
    return raw, victim.name


@pytest.mark.parametrize("name", NAMES)
def test_random_configurations_with_one_bad_value_are_refused_naming_it(name):
    exp = registry.get(name)

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
    @given(_poisoned(exp))
    def check(drawn: tuple[dict[str, str], str]) -> None:
        raw, victim = drawn
        with pytest.raises(ConfigError) as err:
            exp.execute(contract.make_config(exp.config, raw), device="cpu")
        assert str(err.value).startswith(f"{victim}: ") and "\n" not in str(err.value), str(err.value)

    check()
