"""The shared chart helpers: one tick style per log axis, colours that read on light and dark."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest

from core.charts import PALETTE, PLAIN, POWERS, decades, log_axis, log_format, log_y, words


@pytest.mark.parametrize(("values", "expected"), [
    ([0.01, 3.0], PLAIN),  # 0.01 .. 10: plain numbers, no exponent anywhere
    ([10, 4096], PLAIN),  # widths: "10", "1,000", "10,000"
    ([1e-7, 1.0], POWERS),  # d3's "~g" would write 0.000001 beside 1e-7
    ([1, 20_000], PLAIN),  # up to "100,000"
    ([10, 2e5], POWERS),  # "~g" would write 100,000 beside 1e+6
    ([0.002, 0.5], PLAIN),  # ticks from 0.001: still short as plain numbers
    ([0.0002, 0.5], POWERS),  # "0.0001" and longer read worse than "1e-4"
    ([0.0, -1.0, np.nan], PLAIN),  # nothing to draw on a log axis
])
def test_a_log_axis_uses_one_tick_style_for_its_whole_range(values, expected):
    assert log_format(values) == expected


def test_log_axes_carry_the_format_and_the_scale_options():
    x = log_axis("p", "parameters", values=[10, 100], nice=False, domain=[10, 100]).to_dict()
    assert x["scale"] == {"type": "log", "nice": False, "domain": [10, 100]}
    assert x["axis"] == {"format": PLAIN} and x["title"] == "parameters"
    y = log_y("loss", "loss", values=[1e-9, 1.0]).to_dict()
    assert y["axis"] == {"format": POWERS}
    assert log_y("loss", "loss", "~%").to_dict()["axis"] == {"format": "~%"}
    assert log_axis("p", "p").to_dict()["axis"] == {"format": POWERS}  # no values: the style that always holds


def test_decades_tick_a_fixed_log_domain_at_powers_of_ten():
    assert decades(1.25e-4, 3.0) == pytest.approx([1e-3, 1e-2, 1e-1, 1.0])
    assert log_y("v", "v", values=[1e-4, 3.0], ticks=[0.01, 1.0]).to_dict()["axis"] == {"format": POWERS, "values": [0.01, 1.0]}


def _luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("name", [n for n in asdict(PALETTE) if n not in {"light_grey", "paper", "shadow"}])
def test_every_page_colour_reads_on_a_white_and_on_streamlits_dark_background(name):
    colour = getattr(PALETTE, name)
    assert _contrast(colour, "#ffffff") >= 3.0, colour
    assert _contrast(colour, "#0e1117") >= 3.0, colour


def test_words_rename_legend_entries_and_keep_the_rest():
    frame = pd.DataFrame({"set": ["train_mse", "other"], "value": [1, 2]})
    shown = words(frame, "set", {"train_mse": "train error"})
    assert list(shown["set"]) == ["train error", "other"] and list(frame["set"]) == ["train_mse", "other"]
