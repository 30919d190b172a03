"""Criteria: regular expressions searched in each fact, metadata by key, all must match."""

import re

import pytest

from refnova.behaviours.criteria import EVERY_REQUEST, RequestFacts, parse_criteria

FACTS = RequestFacts(
    server_name="web-12",
    metadata={"role": "db", "tier": "gold"},
    flavor="2",
    image="155d900f-4e14-4e4c-a73d-069cbf4541e6",
    project="demo-project",
    user="alice",
)


@pytest.mark.parametrize(
    "criteria",
    [
        {},
        {"server_name": "^web-[0-9]+$"},
        {"server_name": "eb"},
        {"metadata": {"role": "^db$"}},
        {"metadata": {"role": "db", "tier": "gold|silver"}},
        {"flavor": "^2$", "image": "^155d900f", "project": "demo", "user": "^alice$"},
    ],
)
def test_matching_criteria(criteria):
    assert parse_criteria(criteria).matches(FACTS)


@pytest.mark.parametrize(
    "criteria",
    [
        {"server_name": "^eb"},
        {"metadata": {"role": "^web$"}},
        {"metadata": {"owner": ".*"}},  # a key the server does not have
        {"server_name": "web", "flavor": "^1$"},  # one fact fails: no match
        {"user": "bob"},
        {"project": "^other"},
        {"image": "^a"},
    ],
)
def test_criteria_that_do_not_match(criteria):
    assert not parse_criteria(criteria).matches(FACTS)


def test_no_criteria_match_every_request():
    assert EVERY_REQUEST.matches(FACTS)
    assert parse_criteria({}) == EVERY_REQUEST


def test_mimics_list_form_is_the_same_criteria():
    listed = [{"server_name": "^web-"}, {"metadata": {"role": "db"}}, {"metadata": {"tier": "g"}}]
    assert parse_criteria(listed) == parse_criteria(
        {"server_name": "^web-", "metadata": {"role": "db", "tier": "g"}}
    )


@pytest.mark.parametrize(
    ("listed", "message"),
    [
        ([{"server_name": "a", "user": "b"}], "criteria[0] must be an object of one criterion"),
        (["a"], "criteria[0] must be an object of one criterion"),
        ([{"user": "a"}, {"user": "b"}], "criteria[1]: user is given twice"),
    ],
)
def test_a_bad_list_of_criteria_names_the_item(listed, message):
    with pytest.raises(ValueError, match=r"^%s$" % re.escape(message)):
        parse_criteria(listed)
