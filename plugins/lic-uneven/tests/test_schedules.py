"""Slice schedules give the slices the papers state."""

import pytest

from lic_core.coding.slices import (
    check_support, cosine_groups, even_groups, make_groups, power_groups, previous_support, skip_previous_support,
)  # fmt: skip


def test_power_schedule_matches_the_cca_paper():
    assert power_groups(320, 1.7) == (8, 28, 56, 92, 136)
    assert make_groups(320) == (8, 28, 56, 92, 136)


def test_power_zero_is_even():
    assert power_groups(320, 0.0) == (64, 64, 64, 64, 64)


def test_elic_schedule():
    assert make_groups(320, "elic") == (16, 16, 32, 64, 192)


def test_cosine_schedule_matches_tinylic():
    assert cosine_groups(320, 4) == (24, 69, 104, 123)
    assert make_groups(320, "cosine", slices=4) == (24, 69, 104, 123)


def test_even_and_explicit_groups():
    assert even_groups(320, 10) == (32,) * 10
    assert even_groups(10, 3) == (4, 3, 3)
    assert make_groups(12, groups=[2, 4, 6]) == (2, 4, 6)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"groups": [2, 4]}, "sum to 6"),
        ({"schedule": "power", "k": 3.0, "slices": 5}, "empty slice"),
        ({"schedule": "nope"}, "unknown slice schedule"),
    ],
)
def test_bad_schedules_say_why(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_groups(12, **kwargs)


def test_supports():
    assert previous_support(3) == ((), (0,), (0, 1))
    assert skip_previous_support(4) == ((), (), (0,), (0, 1))
    with pytest.raises(ValueError, match="earlier slices"):
        check_support([(), (1,)], 2)
