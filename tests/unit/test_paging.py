"""Paging as each contract reads ``limit`` and links the next page (refnova/api/openstack/
common.py): the one reader and the one link builder every list uses (servers, flavors, key
pairs, images). The /v2.1 answers are pinned by fixtures recorded from Nova (L42-L47,
G38-G42, W40-W42, Y69-Y80); the /v2 query by Icehouse's ``dict_to_query_str``."""

import pytest
import webob

from refnova.api.openstack import common
from refnova.exception import ApiError


def refusal(read, values):
    with pytest.raises(ApiError) as raised:
        read(values)
    return raised.value.status, raised.value.message


def test_today_limit_refuses_what_the_query_schema_refuses_with_its_text():
    schema = "Invalid input for query parameters limit. Value: "
    assert refusal(common.today_limit, [""]) == (400, schema + ". '' should be non-empty")
    for raw in ("\u00b2", "\u0663", "-1", "abc", " 1"):  # ², ٣: digits, but not [0-9]
        assert refusal(common.today_limit, [raw]) == (
            400,
            schema + "%s. %r does not match '^[0-9]*$'" % (raw, raw),
        )


def test_today_limit_checks_every_value_and_reads_the_last():
    assert refusal(common.today_limit, ["1", "x"])[1].endswith("'x' does not match '^[0-9]*$'")
    assert refusal(common.today_limit, ["x", ""])[1].endswith("'x' does not match '^[0-9]*$'")
    assert common.today_limit(["3", "1"]) == 1
    assert common.today_limit(["1\n"]) == 1  # re.search: "$" matches before a final newline
    assert common.today_limit(["99999999999999999999"]) == 99999999999999999999


def test_icehouse_limit_is_int_of_the_last_value_with_its_own_texts():
    assert common.icehouse_limit(["\u0663"]) == 3  # int() reads any decimal digit
    assert common.icehouse_limit(["x", " 2"]) == 2
    assert refusal(common.icehouse_limit, ["\u00b2"]) == (400, "limit param must be an integer")
    assert refusal(common.icehouse_limit, [""]) == (400, "limit param must be an integer")
    assert refusal(common.icehouse_limit, ["-1"]) == (400, "limit param must be positive")


def test_icehouse_next_query_is_unencoded_as_given_with_the_marker_moved_last():
    params = [("marker", "m0"), ("name", "^[ab] c"), ("limit", "1"), ("name", "d&e")]
    assert (
        common.icehouse_next_query(params, "a b&c") == "name=^[ab] c&limit=1&name=d&e&marker=a b&c"
    )


def test_today_next_query_is_sorted_and_encoded():
    # Nova's OrderedDict(sorted(...)): a repeated name keeps the value sorted last.
    params = [("name", "b^"), ("marker", "m0"), ("limit", "1"), ("name", "a b")]
    assert common.today_next_query(params, "a b&c") == "limit=1&marker=a+b%26c&name=b%5E"


def next_link(query, page_size, paging=common.TODAY_PAGING):
    req = webob.Request.blank("/v2.1/widgets?" + query)
    params = list(req.GET.items())
    return common.next_links(req, "p1", "widgets", [0] * page_size, "last", paging, params)


def test_a_next_link_when_the_page_is_as_long_as_asked_for_or_the_max_limit():
    assert next_link("limit=2", 2) == [
        {"rel": "next", "href": "http://localhost/v2.1/widgets?limit=2&marker=last"}
    ]
    assert next_link("limit=2", 1) == []
    assert next_link("limit=0", 0) == []
    assert next_link("", 3) == []
    assert next_link("", common.MAX_LIMIT) != []  # no limit: a full page of the max
    assert next_link("limit=99999999999999999999", common.MAX_LIMIT) != []


def test_icehouse_links_a_next_page_only_when_a_limit_was_given_and_met():
    # Icehouse's _get_collection_links: int(limit given, else 0); osapi_max_limit no part of it.
    assert next_link("", common.MAX_LIMIT, common.ICEHOUSE_PAGING) == []
    assert next_link("limit=5000", common.MAX_LIMIT, common.ICEHOUSE_PAGING) == []
    assert next_link("limit=5000", 5000, common.ICEHOUSE_PAGING) != []
    assert next_link("limit=0", 0, common.ICEHOUSE_PAGING) == []
    assert next_link("limit=2", 2, common.ICEHOUSE_PAGING) == [
        {"rel": "next", "href": "http://localhost/v2.1/widgets?limit=2&marker=last"}
    ]


def test_the_next_link_reads_limit_as_the_contract_does():
    assert next_link("limit=%D9%A3", 3, common.ICEHOUSE_PAGING) != []  # Icehouse: int("٣")
    with pytest.raises(ApiError):
        next_link("limit=%D9%A3", 3)
