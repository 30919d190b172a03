"""A fixture's ``microversion``: the header every runner sends, ``--microversion``'s choice,
and the skip against a target whose announced maximum is lower."""

from pathlib import Path

import pytest

from refnova.conformance import microversions
from refnova.conformance.fixtures import Fixture, default_fixture_dir, load_fixtures
from refnova.conformance.http import build_request


def fixture(microversion=None, headers=None, name="X01-case.json"):
    data = {
        "name": "X1: case",
        "source": "test X1",
        "request": {"method": "POST", "path": "/v2.1/servers", "headers": headers or {}},
        "expect": {"status": 202},
    }
    if microversion is not None:
        data["microversion"] = microversion
    return Fixture(Path(name), data)


def test_the_fixture_s_microversion_is_sent_in_the_standard_header():
    sent = build_request(fixture("2.37"), {}).header_dict()
    assert sent["OpenStack-API-Version"] == "compute 2.37"
    assert "OpenStack-API-Version" not in build_request(fixture(), {}).header_dict()


@pytest.mark.parametrize(
    "headers", [{"OpenStack-API-Version": "compute 2.5"}, {"X-OpenStack-Nova-API-Version": "2.5"}]
)
def test_a_version_the_request_names_itself_wins(headers):
    sent = build_request(fixture("2.37", headers), {}).header_dict()
    assert "compute 2.37" not in sent.values()


def test_microversion_choice_selects_fixtures():
    at = [fixture(), fixture("2.37"), fixture("latest"), fixture("2.1")]
    assert microversions.select_microversion(at, None) == at
    assert microversions.select_microversion(at, "all") == at
    assert microversions.select_microversion(at, "2.37") == [at[1]]
    assert microversions.select_microversion(at, "2.1") == [at[0], at[3]]
    assert microversions.select_microversion(at, "latest") == [at[2]]


@pytest.mark.parametrize("choice", ["2.x", "3", "2.01", "newest"])
def test_a_choice_that_is_no_version_is_refused(choice):
    with pytest.raises(ValueError):
        microversions.select_microversion([], choice)


def test_a_fixture_above_the_target_s_maximum_is_skipped_with_the_reason():
    assert microversions.skip_reason(fixture(), "2.1") is None
    assert microversions.skip_reason(fixture("2.37"), "2.104") is None
    assert microversions.skip_reason(fixture("2.37"), "2.1") == (
        "needs microversion 2.37; the target announces 2.1 at most"
    )
    assert "Nova 34.0.0's 2.104" in microversions.skip_reason(fixture("latest"), "2.103")
    assert microversions.skip_reason(fixture("latest"), "2.104") is None
    assert microversions.skip_reason(fixture(), None) is None
    assert "announces no microversions" in microversions.skip_reason(fixture("2.2"), None)


def test_versions_compare_as_numbers():
    assert microversions.version_key("2.9") < microversions.version_key("2.10")
    assert microversions.version_key("latest") == (2, 104)


def test_every_v21_fixture_above_2_1_says_its_version_in_its_file_name():
    for loaded in load_fixtures(default_fixture_dir("v2.1")):
        if loaded.microversion is not None:
            assert "-mv%s-" % loaded.microversion in loaded.path.name
