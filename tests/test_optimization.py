"""The optimization experiment reproduces the seed's result and reports its faults plainly."""

import pytest

from core import contract
from core.experiments import optimization

EXP = optimization.EXPERIMENT


@pytest.fixture(scope="module")
def seed_result():
    return EXP.execute(optimization.Config())


def test_seed_defaults_widest_net_is_lowest_and_first(seed_result):
    s = seed_result.tables["summary"].set_index("width")
    assert seed_result.metrics["status"] == "ok"
    assert s["final_loss"].idxmin() == 500
    assert s.loc[500, "final_loss"] < 1e-3 < s.loc[10, "final_loss"]
    crossed = s["converged_step"].dropna()
    assert crossed.idxmin() == 500
    # the ordering is monotone: wider is faster, as the seed reports
    assert list(crossed.sort_values().index) == sorted(crossed.index, reverse=True)


def test_seed_defaults_wide_nets_do_not_overfit_catastrophically(seed_result):
    s = seed_result.tables["summary"].set_index("width")
    # the widest net interpolates (train loss far below the noise variance 0.01) yet its test loss
    # is no worse than the narrowest net's
    assert s.loc[500, "final_loss"] < 0.01
    assert s.loc[500, "test_loss"] <= s.loc[10, "test_loss"]


def test_tables_have_the_contract_columns(seed_result):
    assert list(seed_result.tables["curves"].columns) == ["width", "params", "repeat", "step", "loss"]
    assert {"width", "params", "final_loss", "test_loss", "converged_step"} <= set(seed_result.tables["summary"].columns)
    assert len(seed_result.tables["curves"]) == 4 * 2000
    assert seed_result.metrics["params"] == 261_501  # the seed's count for width 500
    assert seed_result.metrics["p_over_n"] == pytest.approx(2615.01)


def test_same_config_same_numbers():
    config = optimization.Config(widths=(20, 40), steps=200, repeats=2)
    a, b = EXP.execute(config), EXP.execute(config)
    assert a.tables["curves"]["loss"].equals(b.tables["curves"]["loss"])


def test_divergence_names_the_step_and_suggests_a_smaller_rate():
    result = EXP.execute(optimization.Config(widths=(500,), lr=1.0, steps=300))
    status = result.metrics["status"]
    assert status.startswith("diverged at step ")
    assert "lr=0.1" in status
    assert len(result.tables["curves"]) < 300


def test_progress_streams_partial_curves():
    seen = []
    EXP.execute(optimization.Config(widths=(10, 50), steps=300),
                progress=lambda f, m="", t=None: seen.append((f, len(t["curves"]))))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert seen[0][1] < seen[-1][1] == 600


@pytest.mark.parametrize("raw,fragment", [
    ({"widths": "0,10"}, "widths: 0 is out of range"),
    ({"depth": "7"}, "depth: 7 is out of range; allowed: an integer from 1 to 6"),
    ({"lr": "inf"}, "lr: 'inf' is not valid"),
    ({"optimizer": "rmsprop"}, "optimizer: 'rmsprop' is not allowed; allowed: one of sgd, adam"),
    ({"n": "2.5"}, "n: '2.5' is not valid"),
    ({"momentum": "0.9"}, "momentum: unknown parameter"),
])
def test_bad_input_names_the_parameter(raw, fragment):
    with pytest.raises(contract.ConfigError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        contract.make_config(optimization.Config, raw)


def test_over_budget_is_refused_with_the_estimate():
    config = contract.make_config(optimization.Config, {"widths": "2000", "depth": "6", "n": "2000", "steps": "5000"})
    with pytest.raises(contract.BudgetError, match=r"about 1\.2e\+15 training FLOPs, over the limit of 2e\+12"):
        EXP.execute(config)


def test_p_over_n_in_summary_and_a_note_when_no_width_crossed():
    result = EXP.execute(optimization.Config(widths=(10, 50), steps=100, threshold=1e-4))
    summary = result.tables["summary"]
    assert summary["converged_step"].isna().all()
    assert list(summary["p_over_n"]) == pytest.approx([p / 100 for p in summary["params"]])
    spec = EXP.charts(result)[1].chart.to_dict()
    assert spec["hconcat"][1]["mark"]["type"] == "text"
    assert "No width reached the threshold" in str(spec["datasets"])


def test_padding_small_widths_together_changes_nothing(monkeypatch):
    config = optimization.Config(widths=(5, 10, 50), steps=300, repeats=2)
    grouped = EXP.execute(config).tables["curves"]
    monkeypatch.setattr(optimization.mlp, "PAD_SLACK_FLOPS", {"cpu": 0.0})
    alone = EXP.execute(config).tables["curves"]
    assert grouped[["width", "repeat", "step"]].equals(alone[["width", "repeat", "step"]])
    assert grouped["loss"].to_numpy() == pytest.approx(alone["loss"].to_numpy(), rel=1e-4)
