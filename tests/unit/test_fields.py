"""Field parsing: what a coordinator may type after --set, and what is refused."""

from __future__ import annotations

import pytest

from pathway.domain.fields import (
    MHHS,
    PAIN,
    BoolField,
    DateField,
    EnumField,
    EnumListField,
    FieldError,
    IntField,
    NumberField,
    TextField,
    parse_date,
)

pain = IntField("pain", **PAIN)
mhhs = NumberField("mhhs", **MHHS)
ifs = NumberField("ifs_mm", lo=0, hi=100, lo_inclusive=False)


@pytest.mark.parametrize(("text", "value"), [("0", 0), ("10", 10), (" 7 ", 7), ("+3", 3)])
def test_pain_accepts_the_numeric_rating_scale(text: str, value: int) -> None:
    assert pain.parse(text) == value


@pytest.mark.parametrize("text", ["-1", "11", "7.5", "seven", "", "1e1", "99999999999999999999", "NaN"])
def test_pain_refuses_anything_else(text: str) -> None:
    with pytest.raises(FieldError, match="pain"):
        pain.parse(text)


@pytest.mark.parametrize(("text", "value"), [("0", 0), ("100", 100), ("72.5", 72.5), ("55", 55)])
def test_mhhs_accepts_zero_to_hundred_with_one_decimal(text: str, value: float) -> None:
    assert mhhs.parse(text) == value


@pytest.mark.parametrize("text", ["100.1", "-0.5", "72.55", "inf", "nan", "1e2", "seventy"])
def test_mhhs_refuses_out_of_range_or_too_precise(text: str) -> None:
    with pytest.raises(FieldError):
        mhhs.parse(text)


def test_millimetres_must_be_positive_and_at_most_100() -> None:
    assert ifs.parse("15.1") == 15.1
    assert ifs.parse("100") == 100
    for bad in ("0", "-3", "100.5", "1000000"):
        with pytest.raises(FieldError, match="greater than 0"):
            ifs.parse(bad)


@pytest.mark.parametrize(
    ("text", "value"), [("true", True), ("YES", True), ("1", True), ("false", False), ("no", False)]
)
def test_booleans(text: str, value: bool) -> None:
    assert BoolField("qf_edema").parse(text) is value


def test_boolean_refuses_maybe() -> None:
    with pytest.raises(FieldError, match="true or false"):
        BoolField("qf_edema").parse("maybe")


def test_enum_is_case_insensitive_but_stores_the_canonical_value() -> None:
    field = EnumField("agent", choices=("corticosteroid_anaesthetic", "anaesthetic_only"))
    assert field.parse("Anaesthetic_Only") == "anaesthetic_only"
    with pytest.raises(FieldError, match="one of corticosteroid_anaesthetic, anaesthetic_only"):
        field.parse("botox")


def test_enum_list_keeps_a_canonical_order_and_refuses_repeats() -> None:
    field = EnumListField("components", choices=("activity_modification", "nsaids", "physical_therapy"))
    assert field.parse("physical_therapy,nsaids") == ["nsaids", "physical_therapy"]
    for bad in ("", "nsaids,,physical_therapy", "nsaids,nsaids", "nsaids,opioids"):
        with pytest.raises(FieldError):
            field.parse(bad)


def test_dates_are_strict_iso() -> None:
    assert DateField("planned_on").parse("2026-03-01") == "2026-03-01"
    for bad in ("2026-02-30", "01/03/2026", "20260301", "2026-3-1", "tomorrow"):
        with pytest.raises(FieldError):
            parse_date(bad)


def test_text_is_trimmed_bounded_and_printable() -> None:
    field = TextField("reason", max_length=20)
    assert field.parse("  declined surgery ") == "declined surgery"
    for bad in ("", "   ", "x" * 21, "bell\x07", "nul\x00byte", "\u202eevil"):
        with pytest.raises(FieldError):
            field.parse(bad)
