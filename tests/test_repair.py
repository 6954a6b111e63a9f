"""Links that always run: a setting whose fields are each in bounds but that breaks a rule between
fields or the compute budget is moved to the nearest setting that runs, and the page says so."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from core import contract, registry
from core.contract import ConfigError
from core.repair import nearest_setting
from tests import quick


def runs(exp: contract.Experiment, config) -> bool:
    try:
        contract.validate(config)
        exp.check_budget(config)
    except ConfigError:
        return False
    return True


def defaults(name: str):
    exp = registry.get(name)
    return exp, contract.make_config(exp.config, {})


def test_a_setting_that_runs_is_left_alone():
    exp, config = defaults("optimization")
    assert nearest_setting(exp, config) == (config, [])


def test_a_rule_between_fields_moves_the_field_to_the_boundary():
    """p must exceed n + 1: the nearest p that runs is n + 2, not the default."""
    exp, config = defaults("benign-overfitting")
    repaired, notices = nearest_setting(exp, dataclasses.replace(config, p=30))
    assert repaired == dataclasses.replace(config, p=config.n + 2)
    assert notices == [f"p: 30 must exceed n + 1 = {config.n + 1} so that the model can interpolate — using "
                       f"p = {config.n + 2}, the nearest setting that runs"]


def test_over_budget_takes_the_largest_value_within_it():
    exp, config = defaults("optimization")
    asked = dataclasses.replace(config, repeats=8)
    assert not runs(exp, asked)
    repaired, notices = nearest_setting(exp, asked)
    assert runs(exp, repaired) and not runs(exp, dataclasses.replace(repaired, repeats=repaired.repeats + 1))
    assert dataclasses.replace(repaired, repeats=8) == asked  # nothing else moved
    assert "over the limit" in notices[0] and f"repeats = {repaired.repeats}," in notices[0]


def _random_setting(exp: contract.Experiment, rng: np.random.Generator):
    """Every field drawn within its own bounds (each value alone is valid), lists kept at default."""
    values = {}
    for p in contract.params(exp.config):
        if p.choices:
            values[p.name] = p.choices[rng.integers(len(p.choices))]
        elif p.kind is bool:
            values[p.name] = bool(rng.integers(2))
        elif p.kind is int:
            values[p.name] = int(rng.integers(p.lo, p.hi + 1))
        elif p.kind is float:
            u = rng.random()
            values[p.name] = float(math.exp(math.log(p.lo) + u * math.log(p.hi / p.lo)) if p.log
                                   else p.lo + u * (p.hi - p.lo))
        else:
            values[p.name] = p.default
    return exp.config(**values)


@pytest.mark.parametrize("name", registry.names())
def test_any_in_bounds_setting_is_repaired_to_one_that_runs(name):
    exp = registry.get(name)
    rng = np.random.default_rng(0)
    broken = 0
    for _ in range(40):
        asked = _random_setting(exp, rng)
        repaired, notices = nearest_setting(exp, asked)
        assert runs(exp, repaired), (asked, repaired)
        assert bool(notices) == (repaired != asked)
        broken += repaired != asked
    assert broken < 40, "every random setting needed repair: the sampler, not the rules, is broken"


def test_a_link_that_breaks_a_rule_opens_at_the_nearest_setting_and_says_so(one_thread):
    exp, config = defaults("benign-overfitting")
    at = quick.open_page(exp, {"p": "0"})
    quick.assert_drew_a_chart(at)
    assert quick.page_config(at, exp) == dataclasses.replace(config, p=config.n + 2)
    notices = [i.value for i in at.info if i.value.startswith("Link corrected: ")]
    assert any(n.endswith(f"using p = {config.n + 2}, the nearest setting that runs") for n in notices), notices
