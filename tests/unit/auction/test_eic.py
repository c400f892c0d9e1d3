"""EIC codes: real public codes pass, every single-character change of them fails."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from settlement.eic import check_character, eic_problem, parse_eic

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-"
REAL = [
    "10YDE-EON------1",  # TenneT DE control area
    "10Y1001A1001A82H",  # the German-Luxembourg bidding zone
    "10YDE-RWENET---I",  # Amprion
    "10YDE-VE-------2",  # 50Hertz
    "10YDE-ENBW-----N",  # TransnetBW
    "10X1001A1001A361",  # a party (X) code of the same office
]


@pytest.mark.parametrize("code", REAL)
def test_real_codes_pass_and_are_taken_apart(code: str) -> None:
    assert eic_problem(code) is None
    eic = parse_eic(code)
    assert eic.issuing_office == "10"
    assert eic.object_type in "XY"


@pytest.mark.parametrize("code", REAL)
def test_every_single_character_change_fails(code: str) -> None:
    for i in range(16):
        for c in _ALPHABET:
            if c != code[i]:
                changed = code[:i] + c + code[i + 1 :]
                assert eic_problem(changed) is not None, changed


def test_problems_say_what_is_wrong() -> None:
    assert "16 characters" in (eic_problem("10YDE-EON") or "")
    assert "object type 'Q'" in (eic_problem("10QDE-EON------1") or "")
    assert "check character is '2'" in (eic_problem("10YDE-EON------2") or "")
    with pytest.raises(ValueError, match="check character"):
        parse_eic("10YDE-EON------2")


@given(
    st.sampled_from(["10", "11", "21", "37"]),
    st.sampled_from("ATVWXYZ"),
    st.text(alphabet=_ALPHABET, min_size=12, max_size=12),
)
def test_any_body_with_its_check_character_round_trips(office: str, kind: str, body: str) -> None:
    first15 = office + kind + body
    code = first15 + check_character(first15)
    assert eic_problem(code) is None
    assert parse_eic(code).code == code
