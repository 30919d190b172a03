"""The compute API's own answers: Nova's fault bodies, JSON responses, and the plain answer
the router sends for a fault.

A fault the router answers (a rejected create, an unrouted path) is a status line, two or three
headers and a few bytes. ``Answer`` hands them to WSGI as ``webob.Response.__call__`` would
(its copy of the header list, a HEAD without a body) without building a ``webob.Response``,
whose status and header setters cost more than writing the fault: WebOb stays the request's
model, and every other answer is still a ``webob.Response``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import webob
import webob.acceptparse

from refnova.exception import ApiError, fault_key_for

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

JSON_TYPE = "application/json"
JSON_CONTENT_TYPES = (JSON_TYPE, "application/vnd.openstack.compute+json")


def fault_body(
    status: int, message: str, headers: Mapping[str, Any] | None = None, key: str | None = None
) -> dict[str, dict[str, Any]]:
    key = key or fault_key_for(status)
    fault: dict[str, Any] = {"message": message, "code": status}
    retry_after = (headers or {}).get("Retry-After")
    if status in (413, 429) and retry_after:
        fault["retryAfter"] = str(retry_after)
    return {key: fault}


def best_json_type(req: webob.Request | None) -> str:
    """The JSON media type the client prefers; Nova echoed the vendor type when asked for it."""
    return _json_type_for(req.environ.get("HTTP_ACCEPT")) if req is not None else JSON_TYPE


# What ``req.accept`` parses on every read depends on the header's text alone: the answer
# for each of the few Accept headers clients send is worked out once.
@functools.lru_cache(maxsize=256)
def _json_type_for(accept: str | None) -> str:
    offers = webob.acceptparse.create_accept_header(accept).acceptable_offers(JSON_CONTENT_TYPES)
    return offers[0][0] if offers else JSON_TYPE


def json_response(
    status: int,
    body: Any,
    headers: Mapping[str, Any] | None = None,
    content_type: str = JSON_TYPE,
) -> webob.Response:
    return _text_response(status, json.dumps(body), headers, content_type)


def _text_response(
    status: int, text: str, headers: Mapping[str, Any] | None, content_type: str
) -> webob.Response:
    data = text.encode("utf-8")
    # The header list given whole: WebOb's content-type and body setters parse and copy what
    # is known here already.
    headerlist = [("Content-Type", content_type), ("Content-Length", str(len(data)))]
    response = webob.Response(app_iter=[data], status=status, headerlist=headerlist)
    for name, value in (headers or {}).items():
        response.headers[name] = str(value)
    return response


def fault_response(error: ApiError, req: webob.Request | None = None) -> webob.Response:
    text = _fault_text(error.status, error.message, error.headers, error.fault, error.details)
    return _text_response(error.status, text, error.headers, best_json_type(req))


def fault_answer(error: ApiError, req: webob.Request) -> Answer | webob.Response:
    """``fault_response``'s answer; a plain ``Answer`` for a fault without headers of its own
    (those with some, a 413's or 429's Retry-After, are WebOb's to set)."""
    if error.headers:
        return fault_response(error, req)
    status, message = error.status, error.message
    if error.details is None and len(message) <= _CACHED_MESSAGE_LENGTH:
        data = _short_fault_data(status, message, error.fault)
    else:
        data = _fault_text(status, message, None, error.fault, error.details).encode("utf-8")
    headerlist = [("Content-Type", best_json_type(req)), ("Content-Length", str(len(data)))]
    return Answer(error.status, headerlist, data)


# A fault of a message and a code alone (nearly every one), as ``json.dumps`` writes it: the
# encoder's set-up for so small a document costs more than writing it from this template.
_PLAIN_FAULT = '{%s: {"message": %s, "code": %d}}'


# The faults a server answers are few and their texts mostly constant: each is written once.
# A long message (one quoting what a client sent) is written every time, so that the cache
# holds at most a few hundred short texts whatever clients send.
_CACHED_MESSAGE_LENGTH = 200


@functools.lru_cache(maxsize=512)
def _short_fault_data(status: int, message: str, key: str | None) -> bytes:
    return _fault_text(status, message, None, key, None).encode("utf-8")


def _fault_text(
    status: int,
    message: str,
    headers: Mapping[str, Any] | None,
    key: str | None,
    details: str | None,
) -> str:
    body = fault_body(status, message, headers, key)
    ((key, fault),) = body.items()
    if details is not None:
        fault["details"] = details
    if len(fault) == 2:  # fault_body's "message" then "code", nothing added
        return _PLAIN_FAULT % (json.dumps(key), json.dumps(fault["message"]), fault["code"])
    return json.dumps(body)


# WebOb's status line of each code, as ``webob.Response(status=code)`` writes it.
@functools.cache
def status_line(code: int) -> str:
    return str(webob.Response(status=code).status)


class Answer:
    """A status, a header list and a body, sent as ``webob.Response`` sends them (its headers
    hold no ``Location`` for WebOb to make absolute)."""

    __slots__ = ("status_code", "status", "headerlist", "body")

    def __init__(self, status_code: int, headerlist: list[tuple[str, str]], body: bytes) -> None:
        self.status_code = status_code
        self.status = status_line(status_code)
        self.headerlist = headerlist
        self.body = body

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        start_response(self.status, list(self.headerlist))
        if environ["REQUEST_METHOD"] == "HEAD":
            return []
        return [self.body]


def set_header(headerlist: list[tuple[str, str]], name: str, value: str) -> None:
    """``response.headers[name] = value`` on a header list, as WebOb's ``ResponseHeaders`` does
    it: every header of that name (any case) goes, and the new one is appended."""
    lowered = name.lower()
    headerlist[:] = [item for item in headerlist if item[0].lower() != lowered]
    headerlist.append((name, value))
