from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events import MAX_MONEY, ValidationError, format_money, from_minor, money, to_minor
from tests.strategies import amounts


@pytest.mark.parametrize(
    ("value", "expected"),
    [(5, "5.00000000"), ("1.5", "1.50000000"), (Decimal("0.00000001"), "0.00000001"), (" 2 ", "2.00000000")],
)
def test_money_accepts_ints_decimals_and_decimal_strings_at_fixed_scale(value, expected):
    amount = money(value)

    assert format_money(amount) == expected


def test_negative_zero_is_the_same_amount_as_zero():
    assert format_money(money("-0")) == "0.00000000"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1.5, r"^amount: 1\.5 is a float, not an exact amount; pass Decimal\('1\.5'\)$"),
        (True, r"^amount: True is a bool, not an exact amount"),
        (None, r"^amount: None is a NoneType, not an exact amount"),
        ("abc", r"^amount: 'abc' is not a decimal number; pass digits"),
        ("NaN", r"^amount: 'NaN' is not a finite amount"),
        (Decimal("Infinity"), r"^amount: Decimal\('Infinity'\) is not a finite amount"),
        ("1.000000001", r"^amount: '1\.000000001' has more than 8 decimal places; round it"),
        (10**11, r"^amount: 100000000000 exceeds the largest amount"),
        (-1, r"^amount: -1 is negative; pass an amount >= 0$"),
    ],
)
def test_money_rejects_inexact_or_out_of_range_input_naming_field_and_value(value, message):
    with pytest.raises(ValidationError, match=message) as caught:
        money(value)

    assert caught.value.field == "amount"
    assert caught.value.value is value or caught.value.value == value


def test_money_rejects_zero_where_the_field_demands_a_positive_amount():
    with pytest.raises(ValidationError, match=r"^allocation: 0 is zero; pass an amount > 0$"):
        money(0, field="allocation", allow_zero=False)


def test_money_allows_negative_amounts_when_asked():
    assert money("-3.2", allow_negative=True) == Decimal("-3.2")


def test_validation_error_is_a_value_error():
    with pytest.raises(ValueError, match="float"):
        money(0.1)


@given(amounts())
def test_minor_units_round_trip_exactly(amount):
    assert from_minor(to_minor(amount)) == amount
    assert to_minor(amount) == int(amount * 10**8)


@given(st.integers(min_value=-(10**18), max_value=10**18))
def test_from_minor_is_fixed_scale_text(units):
    assert format_money(from_minor(units)).split(".")[1].__len__() == 8


def test_largest_amount_fits_sqlite_integer():
    assert to_minor(MAX_MONEY) * 9 < 2**63
