"""The benign-overfitting page's paragraph on the textbook script: each statement, as numbers."""

import pytest

from core.textbook import benign_script


@pytest.fixture(scope="module")
def script():
    return benign_script()


def test_the_script_train_mse_is_exactly_the_unfittable_label_mean(script):
    """Centring without an intercept leaves rank n − 1, so the 'interpolant' misses exactly ȳ."""
    assert script.centred_rank == script.n - 1
    assert script.train_mse == pytest.approx(script.mean_label_squared, rel=1e-4)
    assert script.train_mse == pytest.approx(0.068, abs=5e-4)  # the script's printed figure


def test_the_script_test_mse_is_no_better_than_predicting_zero(script):
    """Its test set belongs to another true weight vector: the fit carries no information about it."""
    assert script.test_mse == pytest.approx(20.1, abs=0.05)
    assert script.test_mse > script.test_mean_square


def test_done_correctly_the_interpolant_fits_and_keeps_most_of_the_error(script):
    assert script.correct_train_mse < 1e-20
    assert script.correct_excess_risk == pytest.approx(script.predicted_excess_risk, rel=0.1)  # seen 6.14 vs 5.85
    assert script.correct_excess_risk > 0.75 * script.signal_variance  # recovers at most a quarter of the signal
