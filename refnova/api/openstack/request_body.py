"""A request body read as JSON, refused with a 400 for what Python's parser takes but no
layer below can hold: nesting deeper than the parser's recursion, and text that is not
Unicode (a lone surrogate such as ``"\\ud800"``, which no database driver can encode)."""

from __future__ import annotations

import io
import json
from typing import Any

import webob
from webob.request import LimitedLengthFile

from refnova.exception import ApiError

MALFORMED = "Malformed request body"
# A bound on nesting well under Python's recursion limit, so that walking the body (here,
# in the schema validator, in the checks) can never recurse out of the stack.
MAX_DEPTH = 100


def read(req: webob.Request, length: int | None = None) -> bytes:
    """``req.body``. A body of declared length not read yet is read once, as WebOb reads it
    (``LimitedLengthFile``: a short body is a ``DisconnectionError``), and kept seekable for
    whoever reads it next, without WebOb's copy of it into a second buffer. ``length``: the
    request's ``content_length``, when the caller has parsed it already."""
    if length is None:
        length = req.content_length
    environ = req.environ  # WebOb's is_body_seekable and body_file_raw, read directly
    if not length or environ.get("webob.is_body_seekable", False):
        return req.body
    stream = environ["wsgi.input"]
    data = stream.read(length)  # a server's input gives the whole body at once, nearly always
    if len(data) < length:  # a short read: the rest as WebOb reads it (a disconnection raises)
        data += LimitedLengthFile(stream, length - len(data)).read()
    req.environ["wsgi.input"] = io.BytesIO(data)
    req.environ["webob.is_body_seekable"] = True
    return data


def parse(raw: bytes) -> Any:
    """The body as JSON, or ApiError(400) naming why it cannot be served."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, MALFORMED)
    except RecursionError:
        raise ApiError(400, "%s: nested deeper than %d levels" % (MALFORMED, MAX_DEPTH))
    if _may_hold_what_is_refused(raw):
        _check_values(body)
    return body


def _may_hold_what_is_refused(raw: bytes) -> bool:
    """Whether walking the parsed body can find anything to refuse. A lone surrogate can only
    come from a ``\\u`` escape (the strict UTF-8 decoder refuses an encoded one), and every
    container opens with a bracket of the text, so a body with at most MAX_DEPTH of them
    cannot nest deeper: two scans of the bytes instead of a walk of every value."""
    # The one-byte search first: most bodies hold no backslash at all.
    escapes = b"\\" in raw and b"\\u" in raw
    return escapes or raw.count(b"[") + raw.count(b"{") > MAX_DEPTH


def _check_values(body: Any) -> None:
    """Every string (keys too) encodable as UTF-8, every container under MAX_DEPTH; walked
    without recursion, as the body may be nested as deep as the parser allowed."""
    pending: list[tuple[Any, int]] = [(body, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                raise ApiError(400, "%s: nested deeper than %d levels" % (MALFORMED, MAX_DEPTH))
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    _check_text(key)
                pending.append((item, depth + 1))


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(
            400, "%s: a string holds a lone surrogate, which is not valid Unicode" % MALFORMED
        )
