"""What the fuzz suite sends: valid create bodies mutated at one field, arbitrary JSON,
raw bytes, and requests with hostile headers and paths. Bodies are built as JSON *text*,
so that a mutation can be what json.dumps cannot write (nesting thousands deep)."""

import base64
import json

from hypothesis import strategies as st

PROJECT = "6f70656e737461636b20342065766572"
IMAGE = "155d900f-4e14-4e4c-a73d-069cbf4541e6"
NETWORK = "3cb9bc59-5699-4588-a4b1-b87f96708bc6"
MICROVERSIONS = ["2.1", "2.19", "2.32", "2.37", "2.42", "2.52", "2.63", "2.67", "2.90", "2.104"]
SERVERS = {"v2": "/v2/%s/servers" % PROJECT, "v2.1": "/v2.1/servers"}
# Stands for the mutated value in the body until the JSON text is written.
HOLE = "\x00refnova-fuzz-hole\x00"

# Every field a create may carry, each with a value refnova accepts.
OPTIONAL_FIELDS = {
    "metadata": {"role": "web"},
    "key_name": "demo-key",
    "security_groups": [{"name": "web"}],
    "networks": [{"uuid": NETWORK}],
    "min_count": 1,
    "max_count": 2,
    "availability_zone": "nova",
    "user_data": base64.b64encode(b"#!/bin/sh\necho hi\n").decode(),
    "personality": [{"path": "/etc/motd", "contents": base64.b64encode(b"hi").decode()}],
    "config_drive": True,
    "accessIPv4": "192.0.2.1",
    "accessIPv6": "2001:db8::1",
    "adminPass": "fuzz-secret",
    "description": "a fuzzed server",
    "hostname": "fuzz-host",
    "tags": ["fuzz"],
    "block_device_mapping_v2": [
        {
            "boot_index": 0,
            "uuid": IMAGE,
            "source_type": "image",
            "destination_type": "local",
            "delete_on_termination": True,
        }
    ],
    "block_device_mapping": [{"device_name": "vdb", "volume_id": IMAGE}],
}
TOP_LEVEL_FIELDS = {"os:scheduler_hints": {"group": "fuzz-group", "same_host": [IMAGE]}}

# Text of every kind: any code point, lone surrogates included, control characters, NUL.
any_text = st.text(st.characters(codec=None, categories=None, exclude_categories=()), max_size=40)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**62, max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    any_text,
    st.text(max_size=5),
    st.sampled_from(["", " ", "0", "-1", "1e400", "null", IMAGE, NETWORK, "demo-key", "1"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(any_text, inner, max_size=4)
    ),
    max_leaves=12,
)


def nested(depth):
    return "[" * depth + "]" * depth


# A replacement value as JSON text (floats may be NaN or Infinity: Python's parser takes them).
hostile_fragments = st.one_of(
    json_values.map(json.dumps),
    st.integers(1, 3000).map(nested),
    st.integers(1, 300).map(lambda depth: '{"a": ' * depth + "1" + "}" * depth),
    st.integers(250, 70_000).map(lambda size: json.dumps("x" * size)),
    st.integers(2, 400).map(lambda count: json.dumps(["a"] * count)),
    st.integers(2, 200).map(lambda count: json.dumps({"k%d" % n: "v" for n in range(count)})),
    st.sampled_from(['"\\ud800"', '"\\udfff"', '"a\\u0000b"', '"\\ud83d\\ude00"', "-0", "1e999"]),
)


def paths_of(value, prefix=()):
    """Every path into a JSON document, the document's own (empty) path first."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths_of(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths_of(item, prefix + (index,))


def _with_hole(body, path, operation):
    """A copy of the body with the HOLE at ``path`` (or that key gone, or a new key)."""
    body = json.loads(json.dumps(body))
    if not path:
        return HOLE
    parent = body
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if operation == "delete":
        del parent[last]
    elif operation == "add" and isinstance(parent, dict):
        parent["fuzz_%s" % last] = HOLE
    else:
        parent[last] = HOLE
    return body


@st.composite
def valid_bodies(draw, contract):
    server = {"name": "vm", "imageRef": IMAGE, "flavorRef": "1"}
    for field in draw(st.sets(st.sampled_from(sorted(OPTIONAL_FIELDS)), max_size=4)):
        server[field] = OPTIONAL_FIELDS[field]
    if field_dropped := draw(st.sampled_from([None, "imageRef", "name"])):
        server.pop(field_dropped)
    body = {"server": server}
    if draw(st.booleans()):
        body.update(TOP_LEVEL_FIELDS)
    return body


@st.composite
def mutated_bodies(draw, contract):
    """A valid body with one field replaced, deleted, or joined by a new one."""
    body = draw(valid_bodies(contract))
    path = draw(st.sampled_from(list(paths_of(body))))
    operation = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
    if operation == "delete" and not path:
        operation = "replace"
    text = json.dumps(_with_hole(body, path, operation))
    return text.replace(json.dumps(HOLE), draw(hostile_fragments)).encode("utf-8")


def create_bodies(contract):
    """What a create may carry: a mutated body, any JSON, or any bytes."""
    return st.one_of(
        mutated_bodies(contract),
        mutated_bodies(contract),
        valid_bodies(contract).map(lambda body: json.dumps(body).encode()),
        json_values.map(lambda value: json.dumps(value).encode()),
        st.binary(max_size=200),
        st.text(max_size=60).map(lambda text: text.encode("utf-8")),
    )


header_values = st.one_of(
    st.text(st.characters(codec="latin-1"), max_size=40),
    st.sampled_from(
        [
            "application/json",
            "application/xml",
            "text/plain",
            "application/json; charset=latin-1",
            "*/*",
            "2.1",
            "2.latest",
            "compute 2.104",
            "3.0",
            "-1",
            "99999999999999999999",
            "\x00",
        ]
    ),
)
header_names = st.one_of(
    st.sampled_from(
        [
            "Content-Type",
            "Accept",
            "X-Auth-Token",
            "X-OpenStack-Nova-API-Version",
            "OpenStack-API-Version",
            "Content-Length",
            "traceparent",
            "X-Auth-Project-Id",
            "Host",
            "Transfer-Encoding",
        ]
    ),
    st.from_regex(r"\AX-[A-Za-z0-9-]{1,20}\Z"),
)
path_segments = st.one_of(
    st.sampled_from(
        ["servers", "detail", "flavors", "os-keypairs", "limits", "images", "..", ".", "", PROJECT]
    ),
    st.text(st.characters(codec="utf-8", exclude_characters="/?#"), max_size=12),
    st.binary(max_size=6).map(lambda raw: "".join("%%%02x" % byte for byte in raw)),
)
