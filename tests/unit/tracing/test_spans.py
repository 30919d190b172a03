"""``traced`` spans: the function's full name, and the class of an error where it arose."""

import pytest
from opentelemetry.trace import StatusCode

from refnova import exception, tracing


class Lookup:
    @tracing.traced("compute.flavors.get_flavor_by_flavor_id")
    def flavor(self):
        raise exception.FlavorNotFound(flavor_id="999")

    @tracing.traced("servers.Controller.create")
    def create_after_lookup(self):
        try:
            self.flavor()
        except exception.NovaException:
            raise exception.ApiError(400, "Invalid flavorRef provided.")

    @tracing.traced("servers.Controller.create")
    def create_meeting_it_itself(self):
        try:
            raise exception.FlavorNotFound(flavor_id="999")
        except exception.NovaException:
            raise exception.ApiError(400, "Invalid flavorRef provided.")

    @tracing.traced("servers.Controller.create")
    def create_refusing_a_field(self):
        try:
            int("x")
        except ValueError:
            raise exception.ApiError(400, "Invalid key_name provided.")


def exception_types(span):
    return [event.attributes["exception.type"] for event in span.events]


def by_name(spans):
    return {span.name: span for span in spans.finished()}


def test_code_function_name_is_the_function_s_full_path(spans):
    with pytest.raises(exception.FlavorNotFound):
        Lookup().flavor()
    (span,) = spans.finished()
    assert span.attributes["code.function.name"] == "%s.Lookup.flavor" % __name__


def test_an_answer_to_an_error_a_span_below_recorded_names_its_class(spans):
    with pytest.raises(exception.ApiError):
        Lookup().create_after_lookup()
    found = by_name(spans)
    lookup, controller = (
        found["compute.flavors.get_flavor_by_flavor_id"],
        found["servers.Controller.create"],
    )
    assert lookup.attributes["error.type"] == controller.attributes["error.type"]
    assert controller.attributes["error.type"] == "FlavorNotFound"
    assert exception_types(lookup) == ["refnova.exception.FlavorNotFound"]
    assert exception_types(controller) == ["refnova.exception.ApiError"]  # recorded once
    assert controller.status.status_code is StatusCode.ERROR


def test_an_error_met_in_the_span_itself_is_recorded_there(spans):
    with pytest.raises(exception.ApiError):
        Lookup().create_meeting_it_itself()
    (span,) = spans.finished()
    assert span.attributes["error.type"] == "FlavorNotFound"
    assert exception_types(span) == [
        "refnova.exception.FlavorNotFound",
        "refnova.exception.ApiError",
    ]


def test_a_check_of_the_api_layer_is_the_http_class_nova_raises(spans):
    with pytest.raises(exception.ApiError):
        Lookup().create_refusing_a_field()
    (span,) = spans.finished()
    assert span.attributes["error.type"] == "HTTPBadRequest"
    assert exception_types(span) == ["refnova.exception.ApiError"]  # no ValueError event
