import re
from decimal import Decimal

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from events import MAX_MONEY, CapitalAllocated, ValidationError, format_money, from_minor, money, to_minor
from tests.strategies import amounts

PLAIN = "expected ASCII digits, an optional leading '-' and at most 8 places after a point"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, "5.00000000"),
        ("1.5", "1.50000000"),
        (Decimal("0.00000001"), "0.00000001"),
        ("0012.5", "12.50000000"),
        ("-3.25", "-3.25000000"),
        ("7.12345678", "7.12345678"),
        (Decimal("1E+5"), "100000.00000000"),
        (Decimal("2.000000000"), "2.00000000"),
    ],
)
def test_money_accepts_ints_decimals_and_decimal_strings_at_fixed_scale(value, expected):
    amount = money(value, allow_negative=True)

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


@pytest.mark.parametrize(
    ("text", "flaw", "fix"),
    [
        ("1_000", "it has underscores", "'1000'"),
        ("1_000.50", "it has underscores", "'1000.50'"),
        ("\u0661\u0662", "it has non-ASCII characters", "'12'"),  # Arabic-Indic 12
        ("\uff15", "it has non-ASCII characters", "'5'"),  # fullwidth 5
        (" 7 ", "it has spaces around it", "'7'"),
        ("\t3\n", "it has spaces around it", "'3'"),
        ("1e5", "it has an exponent", "'100000'"),
        ("2.5E-3", "it has an exponent", "'0.0025'"),
        ("1e-9", "it has an exponent", "digits such as '1250.50'"),
        ("1e999999999", "it has an exponent", "digits such as '1250.50'"),
        ("+5", "it has a leading '+'", "'5'"),
        (".5", "a point needs digits on both sides", "'0.5'"),
        ("1.", "a point needs digits on both sides", "'1'"),
    ],
)
def test_money_refuses_text_that_is_no_plain_ascii_decimal_and_names_the_literal_to_pass(text, flaw, fix):
    expected = f"amount: {text!r} is not a plain decimal ({flaw}); {PLAIN}; pass {fix}"

    with pytest.raises(ValidationError, match=f"^{re.escape(expected)}$") as caught:
        money(text)

    assert (caught.value.field, caught.value.value) == ("amount", text)


@pytest.mark.parametrize("text", ["1.000000000", "0.123456789"])
def test_money_refuses_text_with_more_than_8_places_even_when_they_are_zeros(text):
    with pytest.raises(ValidationError, match=rf"^amount: '{text}' has more than 8 decimal places; round it"):
        money(text)


@pytest.mark.parametrize("text", ["1,000", "1.5.5", "-", "", "0x10", "\u0661.\u0665.\u0665"])
def test_money_refuses_text_that_no_reading_makes_a_number(text):
    expected = f"amount: {text!r} is not a decimal number; pass digits such as '1250.50'"

    with pytest.raises(ValidationError, match=f"^{re.escape(expected)}$"):
        money(text)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(
            10**5000,
            r"^amount: an int of 16610 bits exceeds the largest amount 10000000000; pass a smaller",
            id="an int of 5001 digits",  # pytest, too, cannot print it
        ),
        ("9" * 100, r"^amount: '9{49}\.\.\. \(102 characters\) exceeds the largest amount"),
        (Decimal("1e9999999"), r"^amount: Decimal\('1E\+9999999'\) exceeds the largest amount"),
        (Decimal("-1e9999999"), r"^amount: Decimal\('-1E\+9999999'\) exceeds the largest amount"),
    ],
)
def test_money_refuses_huge_amounts_in_one_short_message_not_an_internal_error(value, message):
    with pytest.raises(ValidationError, match=message):
        money(value, allow_negative=True)


def test_money_types_refuse_lenient_text_naming_the_field():
    with pytest.raises(pydantic.ValidationError, match=r"amount: '1_000' is not a plain decimal"):
        CapitalAllocated.model_validate(
            {"seq": 1, "timestamp": "2024-01-01T00:00:00Z", "agent_id": "a", "amount": "1_000"}
        )


def test_canonical_text_of_every_amount_is_a_plain_decimal_that_money_reads_back():
    text = format_money(money("-1234.5", allow_negative=True))

    assert money(text, allow_negative=True) == Decimal("-1234.5")


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
