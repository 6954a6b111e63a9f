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
