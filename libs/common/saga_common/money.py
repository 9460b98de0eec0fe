"""Exact decimal money: two places, never floats."""

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

CENT = Decimal("0.01")


class MoneyError(ValueError):
    """The value is not an amount of money with at most two decimal places."""


def to_money(value: Decimal | str | int) -> Decimal:
    """Return ``value`` as a Decimal with exactly two places; refuse floats and extra precision."""
    if isinstance(value, float | bool):
        raise MoneyError(f"money must be a decimal string, not {type(value).__name__}")
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError) as exc:
        raise MoneyError(f"not a decimal amount: {value!r}") from exc
    if not amount.is_finite():
        raise MoneyError(f"not a finite amount: {value!r}")
    quantized = amount.quantize(CENT, rounding=ROUND_HALF_EVEN)
    if quantized != amount:
        raise MoneyError(f"at most two decimal places: {value!r}")
    return quantized
