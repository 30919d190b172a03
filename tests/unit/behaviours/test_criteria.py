"""Criteria: regular expressions searched in each fact, metadata by key, all must match."""

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
