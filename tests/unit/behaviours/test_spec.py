"""A behaviour's JSON: each kind's parameters checked and completed, and every refusal
naming the field and what it must be."""

import pytest

from refnova import behaviours
from refnova.behaviours import presets, spec
from refnova.exception import GENERIC_TEXT, fault_key_for


def test_fail_defaults_to_novas_compute_fault():
    step = behaviours.parse({"name": "fail"}).step
    assert step.parameters == {"code": 500, "fault": "computeFault", "message": GENERIC_TEXT[500]}
    assert step.hop == spec.HOP_API


def test_an_error_code_alone_takes_novas_fault_key_and_text_for_it():
    step = behaviours.parse({"name": "false-negative", "parameters": {"code": 503}}).step
    assert step.parameters == {
        "code": 503,
        "fault": "serviceUnavailable",
        "message": GENERIC_TEXT[503],
    }


def test_a_preset_fills_the_fields_and_those_given_beside_it_win():
    step = behaviours.parse(
        {"name": "fail", "parameters": {"preset": "PortInUse", "message": "mine"}}
    ).step
    assert step.parameters == {"code": 409, "fault": "conflictingRequest", "message": "mine"}


def test_a_preset_gives_a_server_fault_only_the_fields_it_has():
    step = behaviours.parse({"name": "error", "parameters": {"preset": "NoValidHost"}}).step
    assert step.parameters == {"code": 500, "message": "No valid host was found. ", "details": ""}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("build", {"seconds": 10}),
        (
            "active-then-error",
            {"seconds": 10, "code": 500, "message": "Instance failed to spawn", "details": ""},
        ),
        ("no-valid-host", {"reason": ""}),
        ("quota", {"resource": "instances"}),
        ("delete-failure", {"code": 500, "times": 1}),
        ("lost-cast", {}),
        ("duplicate-cast", {}),
        ("broker-down", {}),
        ("database-down", {}),
        ("default", {}),
    ],
)
def test_every_kind_has_its_defaults(name, expected):
    assert behaviours.parse({"name": name}).step.parameters == expected


def test_a_sequence_parses_its_steps_in_order():
    behaviour = behaviours.parse(
        {
            "name": "sequence",
            "parameters": {
                "behaviours": [{"name": "fail"}, {"name": "build", "parameters": {"seconds": 2}}],
                "cycle": True,
            },
        }
    )
    assert [step.name for step in behaviour.steps] == ["fail", "build"]
    assert behaviour.steps[1].parameters == {"seconds": 2}
    assert behaviour.cycle and behaviour.is_sequence


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "A behaviour must be a JSON object"),
        ({}, "name must be one of default, fail, "),
        ({"name": "explode"}, "name must be one of default, fail, false-negative, quota,"),
        (
            {"name": "fail", "colour": 1},
            "colour is not a known field (allowed: name, parameters, criteria)",
        ),
        ({"name": "fail", "parameters": []}, "parameters must be an object"),
        (
            {"name": "fail", "parameters": {"code": 200}},
            "parameters.code must be an integer from 400 to 599; got 200",
        ),
        (
            {"name": "fail", "parameters": {"code": True}},
            "parameters.code must be an integer from 400 to 599; got True",
        ),
        ({"name": "fail", "parameters": {"fault": "a b"}}, "parameters.fault must be a JSON key"),
        (
            {"name": "fail", "parameters": {"preset": "Nope"}},
            "parameters.preset must be the name of a preset",
        ),
        (
            {"name": "build", "parameters": {"seconds": -1}},
            "parameters.seconds must be a number of seconds from 0 to 86400; got -1",
        ),
        (
            {"name": "build", "parameters": {"code": 500}},
            "parameters.code is not a known field (allowed: seconds)",
        ),
        (
            {"name": "quota", "parameters": {"resource": "disk"}},
            "parameters.resource must be one of instances, cores, ram; got 'disk'",
        ),
        (
            {"name": "delete-failure", "parameters": {"times": 0}},
            "parameters.times must be an integer from 1",
        ),
        (
            {"name": "lost-cast", "parameters": {"x": 1}},
            "parameters.x is not a known field (allowed: none)",
        ),
        ({"name": "sequence"}, "parameters.behaviours is required"),
        (
            {"name": "sequence", "parameters": {"behaviours": []}},
            "parameters.behaviours must be a non-empty list",
        ),
        (
            {"name": "sequence", "parameters": {"behaviours": [{"name": "fail"}, 3]}},
            "parameters.behaviours[1] must be an object with a name",
        ),
        (
            {"name": "sequence", "parameters": {"behaviours": [{"name": "sequence"}]}},
            "parameters.behaviours[0].name: a sequence cannot hold a sequence",
        ),
        (
            {"name": "sequence", "parameters": {"behaviours": [{"name": "fail", "criteria": {}}]}},
            "parameters.behaviours[0].criteria is not a known field",
        ),
        (
            {
                "name": "sequence",
                "parameters": {"behaviours": [{"name": "fail", "parameters": {"code": 1}}]},
            },
            "parameters.behaviours[0].parameters.code must be an integer",
        ),
        ({"name": "fail", "criteria": "x"}, "criteria must be an object"),
        ({"name": "fail", "criteria": {"colour": "x"}}, "criteria.colour is not a known criterion"),
        (
            {"name": "fail", "criteria": {"server_name": "("}},
            "criteria.server_name is not a valid regular expression",
        ),
        (
            {"name": "fail", "criteria": {"server_name": 3}},
            "criteria.server_name must be a regular expression",
        ),
        ({"name": "fail", "criteria": {"metadata": "x"}}, "criteria.metadata must be an object"),
        (
            {"name": "fail", "criteria": {"metadata": {"k": None}}},
            "criteria.metadata.k must be a regular expression",
        ),
    ],
)
def test_a_refused_behaviour_names_the_problem(body, message):
    with pytest.raises(behaviours.InvalidBehaviour) as refused:
        behaviours.parse(body)
    assert str(refused.value).startswith(message)


def test_every_preset_cites_where_its_text_comes_from():
    for name, preset in presets.PRESETS.items():
        assert preset.source.startswith(("Nova 2014.1 source: ", "docs/icehouse-create-path.md")), (
            name
        )
        assert preset.fault == fault_key_for(preset.code), name


def test_the_world_files_behaviours_are_checked_and_get_stable_ids():
    world = {"behaviours": [{"name": "fail"}, {"id": "mine", "name": "build"}]}
    assert behaviours.world_behaviours(world) == [
        ("world-0", {"name": "fail"}),
        ("mine", {"name": "build"}),
    ]
    with pytest.raises(behaviours.InvalidBehaviour, match=r"^behaviours\[1\]: name must be"):
        behaviours.world_behaviours({"behaviours": [{"name": "fail"}, {"name": "x"}]})


def test_the_worlds_behaviours_must_be_a_list():
    with pytest.raises(
        behaviours.InvalidBehaviour, match=r"^The world's behaviours must be a list$"
    ):
        behaviours.world_behaviours({"behaviours": {"name": "fail"}})
    assert behaviours.world_behaviours({}) == []
