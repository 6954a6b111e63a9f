"""The contract's parsing: one place decides what every face accepts."""

from dataclasses import dataclass

import pytest

from core import contract
from core.contract import ConfigError, param


@dataclass(frozen=True)
class Demo:
    sizes: tuple[int, ...] = param((1, 3), "a set of sizes", lo=1, hi=10, max_len=3)
    layers: tuple[int, ...] = param((8, 4, 4), "hidden sizes in order", lo=1, hi=10, ordered=True)
    rate: float = param(0.5, "a rate", lo=0.0, hi=1.0)
    flag: bool = param(False, "a switch")
    mode: str = param("a", "a choice", choices=("a", "b"))


def test_sets_are_sorted_and_deduplicated_ordered_lists_are_kept():
    config = contract.make_config(Demo, {"sizes": "5, 2,5", "layers": "9,3,9"})
    assert config.sizes == (2, 5)
    assert config.layers == (9, 3, 9)


@pytest.mark.parametrize("raw,message", [
    ({"sizes": "1,2,3,4"}, "sizes: 4 values is too many"),
    ({"sizes": "0"}, "sizes: 0 is out of range; allowed: a comma-separated list of up to 3 integers from 1 to 10"),
    ({"rate": "1.5"}, "rate: 1.5 is out of range; allowed: a number from 0 to 1"),
    ({"flag": "maybe"}, "flag: 'maybe' is not valid; allowed: true or false"),
    ({"mode": "c"}, "mode: 'c' is not allowed; allowed: one of a, b"),
])
def test_errors_name_the_parameter_and_what_is_allowed(raw, message):
    with pytest.raises(ConfigError) as err:
        contract.make_config(Demo, raw)
    assert str(err.value).startswith(message)


@pytest.mark.parametrize("name,raw,nearest", [
    ("rate", "7", 1.0),
    ("rate", "-3", 0.0),
    ("rate", "nan", 0.5),
    ("sizes", "0,99,4", (1, 4, 10)),
    ("layers", "12,0", (10, 1)),
    ("mode", "zzz", "a"),
])
def test_nearest_valid_clamps_or_falls_back_to_the_default(name, raw, nearest):
    p = next(p for p in contract.params(Demo) if p.name == name)
    assert contract.nearest_valid(p, raw) == nearest


def test_text_round_trips_through_coerce():
    for p in contract.params(Demo):
        assert contract.coerce(p, contract.to_text(p.default)) == p.default


def _demo_experiment(run, flops=lambda c: 1e6):
    return contract.Experiment(name="demo", title="Demo", claim="", icon="", order=0, config=Demo, run=run,
                               flops=flops, charts=lambda r: [], size=lambda c: (30, 20))


def test_execute_puts_the_status_first_and_the_cost_row_last():
    import pandas as pd

    def run(config, progress, dev):
        assert dev.type == "cpu"
        return contract.Result({"loss": 0.5}, {"t": pd.DataFrame({"x": [1]})}, contract.warning("diverged at step 3"))

    result = _demo_experiment(run).execute(Demo(), device="cpu")
    assert list(result.metrics) == ["status", "loss", *contract.COST_METRICS]
    assert result.metrics["status"] == "diverged at step 3" and not result.status.ok
    assert result.metrics["params"] == 30 and result.metrics["p_over_n"] == 1.5 and result.metrics["flops"] == 1e6
    assert result.metrics["wall_s"] >= 0 and result.metrics["device"].startswith("cpu (")


def test_execute_reports_the_flops_a_run_counted_over_the_estimate():
    import pandas as pd

    def run(config, progress, dev):
        return contract.Result({}, {"t": pd.DataFrame({"x": [1]})}, flops=2.5e5)

    result = _demo_experiment(run).execute(Demo(), device="cpu")
    assert result.metrics["status"] == "ok" and result.status.ok and result.metrics["flops"] == 2.5e5


def test_execute_refuses_before_running_bad_values_the_budget_and_bad_devices():
    ran = []
    demo = _demo_experiment(lambda config, progress, dev: ran.append(1), flops=lambda c: 10 * contract.FLOP_BUDGET)
    with pytest.raises(ConfigError, match=r"^rate: 7 is out of range"):
        demo.execute(Demo(rate=7.0), device="cpu")
    with pytest.raises(contract.BudgetError, match="training FLOPs, over the limit"):
        demo.execute(Demo(), device="cpu")
    with pytest.raises(ConfigError, match=r"^device: 'tpu' is not valid; allowed: cpu, cuda$"):
        _demo_experiment(lambda *a: ran.append(1)).execute(Demo(), device="tpu")
    assert not ran

