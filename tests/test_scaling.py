"""Costs and scaling: the published numbers, the optimiser against the closed form, the inference
shift, this machine's measured cost table, the checklist, and the CLI contract."""

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from streamlit.testing.v1 import AppTest

from core import cli, contract, mlp
from core.contract import Result
from core.experiments import scaling
from core.experiments.scaling import CHINCHILLA, KAPLAN, LAWS
from tests.quick import APP

EXP = scaling.EXPERIMENT
CHEAP = {"widths": (8, 16, 32), "batch": 32}


@pytest.fixture(scope="module")
def default_law():
    return scaling.law_metrics(scaling.Config())


@pytest.fixture(scope="module")
def cheap_result():
    return EXP.execute(scaling.Config(**CHEAP))


def test_chinchilla_published_point():
    # Hoffmann et al. 2022 with the rounded constants: L(70e9, 1.4e12) = 1.9366
    assert round(float(CHINCHILLA.loss(70e9, 1.4e12)), 4) == 1.9366


def test_the_page_reports_chinchillas_loss_at_its_defaults(cheap_result):
    assert cheap_result.metrics["law"] == "chinchilla"
    assert round(cheap_result.metrics["loss"], 4) == 1.9366


@pytest.mark.parametrize("n", [1e6, 1e9, 1e12])
def test_kaplan_joint_law_is_designs_L_of_N_without_a_data_limit(n):
    # DESIGN.md's Kaplan law L(N) = (N_c/N)^0.076 is eq. 1.5 with D -> infinity
    assert float(KAPLAN.loss(n, 1e60)) == pytest.approx((8.8e13 / n) ** 0.076, rel=1e-12)


@pytest.mark.parametrize("law", LAWS.values(), ids=lambda law: law.name)
@pytest.mark.parametrize("compute", [1e18, 1e21, 5.88e23, 1e26])
def test_numeric_optimum_is_the_closed_form_minimum(law, compute):
    n, d, loss = scaling.optimum(law, compute)
    assert 6 * n * d == pytest.approx(compute, rel=1e-12)
    assert n == pytest.approx(float(law.closed_form_params(compute)), rel=1e-6)
    for factor in (0.99, 1.01):  # a true minimum along the budget line
        assert loss < law.loss(n * factor, compute / (6 * n * factor))


@pytest.mark.parametrize("law", LAWS.values(), ids=lambda law: law.name)
def test_optimiser_and_closed_form_agree_to_one_part_in_a_million_across_the_frontier(law):
    # the page: "they agree to better than one part in a million"
    for compute in 10.0 ** scaling.optima.FRONTIER_LOG10:
        n = scaling.optimum(law, compute)[0]
        assert n == pytest.approx(float(law.closed_form_params(compute)), rel=1e-6)  # seen: at most 1.8e-7


def test_llama3_trains_far_more_tokens_per_parameter_than_the_frontier():
    # the page: Llama 3 8B "sits far off the frontier"
    n, d = next((n, d) for name, n, d in scaling.REFERENCE_MODELS if name == "Llama 3 8B")
    n_opt, d_opt, _ = scaling.optimum(CHINCHILLA, 6 * n * d)
    assert d / n > 10 * d_opt / n_opt and n < n_opt / 3  # seen: 20x the tokens per parameter, 1/4.5 the size


@pytest.mark.parametrize("name,exponent", [("chinchilla", 0.28 / (0.34 + 0.28)), ("kaplan", 0.095 / (0.076 + 0.095))])
def test_compute_optimal_size_grows_like_c_to_beta_over_alpha_plus_beta(name, exponent):
    metrics, _ = scaling.law_metrics(scaling.Config(law=name))
    # fitted over 8 decades of numerical optima; tolerance 1e-5 (the optimiser's error is ~1e-8 in log N)
    assert metrics["frontier_slope"] == pytest.approx(exponent, abs=1e-5)
    assert metrics["frontier_slope_theory"] == pytest.approx(exponent, rel=1e-12)


def test_isoflop_curves_spend_their_budget_and_bottom_out_at_the_frontier(default_law):
    metrics, tables = default_law
    iso = tables["isoflop"]
    assert list(iso.columns) == ["compute", "params", "tokens", "loss"]
    assert list(tables["frontier"].columns) == ["compute", "params_opt", "tokens_opt", "loss_opt"]
    assert iso["compute"].nunique() == 5
    np.testing.assert_allclose(6 * iso["params"] * iso["tokens"], iso["compute"], rtol=1e-12)
    for compute, curve in iso.groupby("compute"):
        best = curve.loc[curve["loss"].idxmin(), "params"]
        n_opt = scaling.optimum(CHINCHILLA, compute)[0]
        assert abs(math.log10(best / n_opt)) <= 0.05 + 1e-9  # the grid's spacing is 0.05 decades
    # the middle curve is the chosen budget, and its optimum is the reported one
    assert metrics["params_opt"] * metrics["tokens_opt"] * 6 == pytest.approx(10**23.8, rel=1e-12)


def test_with_the_rounded_constants_chinchillas_budget_prefers_a_smaller_model(default_law):
    # approach 3's constants put the optimum at ~33B parameters on ~3T tokens, not 70B on 1.4T
    metrics, _ = default_law
    assert 30e9 < metrics["params_opt"] < 37e9
    assert 80 < metrics["tokens_per_param_opt"] < 100


def test_counting_inference_gives_a_smaller_model_on_more_tokens_at_the_same_loss(default_law):
    m, tables = default_law
    assert m["params_opt_inf"] < m["params_opt"]
    assert m["tokens_opt_inf"] > m["tokens_opt"]
    assert float(CHINCHILLA.loss(m["params_opt_inf"], m["tokens_opt_inf"])) == pytest.approx(m["loss_opt"], abs=1e-10)
    assert m["lifetime_flops_inf"] < m["lifetime_flops"]
    assert 0 < m["lifetime_saving"] < 1
    # brute force over 120 models of equal loss: none is cheaper than the optimiser's answer
    life = tables["lifetime"]
    assert list(life.columns) == ["params", "tokens", "train_flops", "inference_flops", "total_flops"]
    np.testing.assert_allclose(CHINCHILLA.loss(life["params"], life["tokens"]), m["loss_opt"], rtol=1e-9)
    assert life["total_flops"].min() >= m["lifetime_flops_inf"] * (1 - 1e-9)
    assert life["total_flops"].min() <= m["lifetime_flops_inf"] * 1.01


@pytest.mark.parametrize("law", LAWS.values(), ids=lambda law: law.name)
def test_more_inference_means_a_smaller_model(law):
    n_opt, _, target = scaling.optimum(law, 1e23)
    sizes = [scaling.inference_optimum(law, target, t)[0] for t in (1e6, 1e11, 1e13, 1e15)]
    assert sizes[0] == pytest.approx(n_opt, rel=1e-3)  # negligible serving: the training-only optimum
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] < 0.5 * n_opt


def test_measured_table_counts_flops_and_memory_exactly(cheap_result):
    measured = cheap_result.tables["measured"]
    assert list(measured.columns) == ["width", "params", "flops_per_step", "seconds_per_step", "peak_mb"]
    assert list(measured["width"]) == [8, 16, 32]
    for row in measured.itertuples():
        sizes = scaling.mlp_sizes(row.width)
        assert row.params == mlp.count_params(sizes)
        assert row.flops_per_step == mlp.train_flops(sizes, 32, 1)
        # weights + gradients, the input (shared by the expanded view), two hidden activations, output, labels
        expected = 4 * (2 * row.params + 32 * (scaling.D_IN + 2 * row.width + 1 + 1))
        assert row.peak_mb * 1e6 == pytest.approx(expected, rel=1e-12)
    # wall time is measured, not asserted: only that it is a real positive number
    assert (measured["seconds_per_step"] > 0).all() and np.isfinite(measured["seconds_per_step"]).all()
    assert np.isfinite(cheap_result.metrics["time_slope"])


def test_small_networks_pay_a_fixed_overhead_so_time_grows_slower_than_flops():
    # the page: small networks' time "barely grows" while their FLOPs do. Wall time varies, so the
    # test compares the two smallest widths of the defaults, where the FLOPs grow 9x
    measured = EXP.execute(scaling.Config()).tables["measured"].set_index("width")
    flops = measured.loc[64, "flops_per_step"] / measured.loc[16, "flops_per_step"]
    seconds = measured.loc[64, "seconds_per_step"] / measured.loc[16, "seconds_per_step"]
    assert flops > 8 and seconds < flops / 2  # seen: 1.2x the time for 9x the FLOPs


def test_steps_are_timed_on_one_thread_and_the_count_is_restored(monkeypatch):
    """Page and caption: the fastest of the timed steps, on one CPU thread (two threads waiting for
    each other on a shared machine can make a single width many times slower)."""
    from core.experiments.scaling import timing

    seen = []
    advance = mlp.Trainer.advance

    def spy(self, steps):
        seen.append(torch.get_num_threads())
        return advance(self, steps)

    monkeypatch.setattr(mlp.Trainer, "advance", spy)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        stack = mlp.init_stack(scaling.mlp_sizes(8), [0])
        x, y = torch.randn(16, scaling.D_IN), torch.randn(16, 1)
        seconds = timing.time_step(stack, x, y)
        assert torch.get_num_threads() == 2  # restored for the rest of the run
    finally:
        torch.set_num_threads(before)
    assert seen == [1] * (1 + timing.REPEATS) and seconds > 0  # the warm-up, then one call per timed step


def test_training_flops_grow_in_proportion_to_parameters_for_wide_mlps():
    config = scaling.Config(widths=(256, 512, 1024), batch=16)
    rows = [mlp.train_flops(scaling.mlp_sizes(w), 16, 1) for w in config.widths]
    params = [mlp.count_params(scaling.mlp_sizes(w)) for w in config.widths]
    assert scaling.log_slope(params, rows) == pytest.approx(1.0, abs=0.03)


def test_cost_row_is_the_timed_runs_cost(cheap_result):
    m = cheap_result.metrics
    assert set(contract.COST_METRICS) <= set(m)
    assert m["params"] == mlp.count_params(scaling.mlp_sizes(32))
    assert m["p_over_n"] == pytest.approx(m["params"] / 32, abs=1e-3)
    assert m["flops"] == EXP.flops(scaling.Config(**CHEAP)) == sum(
        mlp.train_flops(scaling.mlp_sizes(w), 32, scaling.TIMED_STEPS + 1) for w in (8, 16, 32))
    assert m["status"] == "ok"


def test_same_config_same_law_numbers():
    a, b = scaling.law_metrics(scaling.Config(law="kaplan")), scaling.law_metrics(scaling.Config(law="kaplan"))
    assert a[0] == b[0]
    for name in a[1]:
        pd.testing.assert_frame_equal(a[1][name], b[1][name])


def test_progress_streams_the_measured_table():
    seen = []
    EXP.execute(scaling.Config(**CHEAP), progress=lambda f, m="", t=None: seen.append((f, len(t["measured"]))))
    assert [f for f, _ in seen] == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert [n for _, n in seen] == [1, 2, 3]


def test_charts_draw_full_and_partial_results(cheap_result):
    figures = EXP.charts(cheap_result)
    assert [f.table for f in figures] == ["isoflop", "frontier", "lifetime", "measured"]
    for f in figures:
        f.chart.to_dict()
    partial = EXP.charts(Result({}, {"measured": cheap_result.tables["measured"].head(1)}))
    assert [f.table for f in partial] == ["measured"]
    partial[0].chart.to_dict()


def test_checklist_leans_and_says_why():
    assert "about C^0.45 to C^0.56 on the frontier" in scaling.FACTORS[0].why_big  # the laws' own exponents
    big = {f.key: f.big for f in scaling.FACTORS}
    small = {f.key: f.small for f in scaling.FACTORS}
    assert scaling.lean(big).score == 7 and scaling.lean(big).verdict.startswith("Leans toward a large")
    lean_small = scaling.lean(small)
    assert lean_small.score == -7 and lean_small.verdict.startswith("Leans toward a smaller model")
    assert "hard limit" in lean_small.verdict and len(lean_small.reasons) == 7
    assert scaling.lean({}).verdict.startswith("No leaning yet") and scaling.lean({}).reasons == ()
    mixed = scaling.lean({"training_compute": "Abundant", "dataset_size": "Large", "label_noise": "High",
                          "transfer": scaling.UNSURE})
    assert mixed.score == 1 and mixed.verdict.startswith("Balanced (+1)")
    assert [r.split(":")[0] for r in mixed.reasons] == ["Training compute", "Dataset size", "Label noise"]


def test_cli_runs_scaling_as_json(capsys):
    rc = cli.main(["run", "scaling", "--set", "law=kaplan", "widths=8,16", "batch=16", "--format", "json"])
    assert rc == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["config"]["law"] == "kaplan" and payload["config"]["widths"] == [8, 16]
    assert set(payload["tables"]) == {"isoflop", "frontier", "lifetime", "measured"}
    assert set(payload["tables"]["frontier"][0]) == {"compute", "params_opt", "tokens_opt", "loss_opt"}
    assert payload["metrics"]["frontier_slope"] == pytest.approx(0.095 / 0.171, abs=1e-5)


@pytest.mark.parametrize("setting,fragment", [
    ("law=gpt", "law: 'gpt' is not allowed; allowed: one of chinchilla, kaplan"),
    ("log10_compute=30", "log10_compute: 30 is out of range; allowed: a number from 18 to 26"),
    ("n_params=abc", "n_params: 'abc' is not valid"),
    ("widths=8", "widths: give at least two widths"),
    ("widths=2041,2042,2043,2044,2045,2046,2047,2048 batch=2048", "training FLOPs, over the limit of 2e+12"),
])
def test_cli_bad_input_exits_2_naming_the_problem(capsys, setting, fragment):
    assert cli.main(["run", "scaling", "--set", *setting.split()]) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1


def test_page_preset_settings_row_and_checklist():
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["widths"], at.session_state["batch"] = "8, 16", 32
    at.switch_page("app_pages/scaling.py").run()
    assert not at.exception
    at.selectbox(key="_preset_scaling").set_value("GPT-3 under Kaplan's law (175B on 300B tokens)")
    at.session_state["widths"], at.session_state["batch"] = "8, 16", 32  # the preset resets them; keep it cheap
    at.run()
    assert not at.exception and at.selectbox(key="law").value == "kaplan"
    labels = [m.label for m in at.metric]
    assert "Loss at your (N, D)" in labels and "Counting inference: N" in labels
    for f in scaling.FACTORS:
        at.radio(key=f"_lean_{f.key}").set_value(f.big)
    at.run()
    assert any(s.value.startswith("Leans toward a large") for s in at.success)
    assert len([line for m in at.markdown for line in m.value.splitlines() if line.startswith("- ")]) == 7
