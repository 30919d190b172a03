"""Nova's printable-name classes, built from one classification of the BMP, take exactly
the characters Nova's per-character test (``unicodedata.category``) takes."""

import re
import unicodedata

import pytest

from refnova.api import validation


def nova_takes(char: str, ws: bool, invert: bool) -> bool:
    """nova.api.validation.parameter_types._is_printable, and _get_all_chars' filter."""
    category = unicodedata.category(char)
    printable = not category.startswith("C") and (not category.startswith("Z") or category == "Zs")
    taken = printable if ws else printable and category != "Zs"
    return not taken if invert else taken


@pytest.mark.parametrize(("ws", "invert"), [(True, False), (False, False), (False, True)])
def test_each_class_holds_the_characters_nova_s_test_takes(ws, invert):
    body = validation._regex_range(ws=ws, invert=invert)
    in_class = re.compile("[%s]" % body).fullmatch
    wrong = [
        hex(code)
        for code in range(0xFFFF)
        if bool(in_class(chr(code))) is not nova_takes(chr(code), ws, invert)
    ]
    assert wrong == []


def test_the_name_regex_takes_printable_names_without_edge_whitespace():
    search = validation.valid_name_regex().search
    assert search("vm-1 é") and search("vm\n")  # re.search: $ before a final newline
    assert not search(" vm") and not search("vm ") and not search("v\x00m")
