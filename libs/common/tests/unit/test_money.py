from decimal import Decimal

import pytest

from saga_common.money import MoneyError, to_money


@pytest.mark.parametrize(
    ("raw", "expected"), [("25", "25.00"), ("12.5", "12.50"), ("0.01", "0.01"), (7, "7.00")]
)
def test_to_money_gives_two_places(raw: str | int, expected: str) -> None:
    assert str(to_money(raw)) == expected


@pytest.mark.parametrize("raw", ["1.001", "abc", "NaN", "Infinity", 1.5, True, None])
def test_to_money_refuses_what_is_not_exact_money(raw: object) -> None:
    with pytest.raises(MoneyError):
        to_money(raw)  # type: ignore[arg-type]


def test_money_sums_stay_exact() -> None:
    # given ten payments of 0.10
    total = sum((to_money("0.10") for _ in range(10)), Decimal("0"))
    # then the total is exactly one, which floats would not give
    assert str(to_money(total)) == "1.00"
