"""Secrets never reach telemetry: the one place spans, statuses and log lines are redacted.

A request's secrets (admin password, user data, personality contents, passwords and tokens of
the built-in identity, the ``X-Auth-Token`` and ``X-Subject-Token`` headers) are remembered
for the length of the request (``request_scope``, ``remember_body``); ``redact`` replaces every
form of them (raw, ``repr``, JSON) in a text, and, for texts outside a request (the conductor's
messages), every value that follows a secret's key. The HTTP answer is left as Nova words it:
only what is recorded goes through here.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import traceback
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from opentelemetry.trace import Span, Status, StatusCode

MASK = "***"
# Keys whose every value (nested values too) is secret; "password" only when it is a leaf
# (the identity's ``password`` method is an object holding the user's name).
_LEAF_SECRET_KEYS = frozenset(
    {
        "adminpass",
        "admin_pass",
        "admin_password",
        "user_data",
        "personality",
        "contents",
        "injected_files",
        "token",
        "secret",
        "passcode",
    }
)
# Secret only as a leaf: the identity's ``password`` method is an object naming its user.
_PASSWORD_KEYS = frozenset({"password", "passwd"})
SECRET_HEADERS = ("X-Auth-Token", "X-Subject-Token", "X-Service-Token")
# The same headers as a WSGI environ names them.
SECRET_ENVIRON_KEYS = tuple("HTTP_" + name.upper().replace("-", "_") for name in SECRET_HEADERS)
_KEY_WORDS = (
    r"adminPass|admin_pass(?:word)?|password|passwd|user_data|contents|token|secret|passcode"
    r"|x-auth-token|x-subject-token|x-service-token"
)
# A secret's key (quoted or not) then ``:`` or ``=`` and its value: quoted, or a bare word.
_KEYED_VALUE = re.compile(
    r"""(?i)((?:['"]?)[\w-]*(?:%s)['"]?\s*[:=]\s*)"""
    r"""('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|(?![\[{(])[^\s,;}\])]+)""" % _KEY_WORDS
)
# A text holds a keyed secret only if it holds a secret's key (lower-cased; the x-*-token
# headers hold "token"): a scan for these literal hints spares the keyed pattern, whose
# leading ``[\w-]*`` is slow on long words, nearly every attribute of every span.
_KEY_HINTS = (
    "adminpass",
    "admin_pass",
    "passw",
    "passcode",
    "user_data",
    "contents",
    "token",
    "secret",
)
# The hints in one C scan, not a Python loop over them (every recorded text goes through it).
_KEY_HINT = re.compile("|".join(re.escape(hint) for hint in _KEY_HINTS))
_MAX_DEPTH = 64  # a body nested deeper than this is refused anyway; stop walking there
# Printable ASCII without a quote or a backslash: its repr and JSON forms are itself.
_ESCAPED_IN_REPR_OR_JSON = ("'", '"', "\\")


def _is_plain(text: str) -> bool:
    """Whether ``text`` is printable ASCII with no quote or backslash (``isascii`` reads a flag
    and the rest are C scans: a kilobyte of user data costs a regex match several times more)."""
    return (
        text.isascii()
        and text.isprintable()
        and not any(char in text for char in _ESCAPED_IN_REPR_OR_JSON)
    )


class _RequestSecrets:
    """One request's secrets. A body handed to ``remember_body`` is walked only when a text is
    first redacted after it (most requests record nothing: no span, no log line), so an
    unrecorded request never pays for the walk. Nothing in a request removes a secret from its
    parsed body (the pre-processors only add keys), so the walk then finds what it would have
    found at once."""

    __slots__ = ("known", "credentials", "bodies", "_longest_first")

    def __init__(self, credentials: Iterable[str | None]) -> None:
        self.known: set[str] = set()
        # Read, like the bodies, at the first redaction (the request's headers stay as they are).
        self.credentials: Iterable[str | None] | None = credentials
        self.bodies: list[Any] = []
        self._longest_first: tuple[str, ...] | None = ()

    def add(self, texts: Iterable[str]) -> None:
        self.known.update(texts)
        self._longest_first = None

    def longest_first(self) -> tuple[str, ...]:
        """Every secret, longest first (a secret inside another is masked with it), sorted
        once per change rather than per redacted text."""
        if self.credentials is not None:
            credentials, self.credentials = self.credentials, None
            for value in credentials:
                if value:
                    _remember_in(self, value)
        while self.bodies:
            _find_secrets(self.bodies.pop(), 0, self)
        if self._longest_first is None:
            self._longest_first = tuple(sorted(self.known, key=len, reverse=True))
        return self._longest_first


_secrets: contextvars.ContextVar[_RequestSecrets | None] = contextvars.ContextVar(
    "refnova_secrets", default=None
)
RequestToken = contextvars.Token[_RequestSecrets | None]


@contextlib.contextmanager
def request_scope(headers: Mapping[str, str] | None = None) -> Iterator[None]:
    """Remember the secrets of one request (its credential headers first) while it runs."""
    token = begin_request(
        headers.get(name) if headers is not None else None for name in SECRET_HEADERS
    )
    try:
        yield
    finally:
        end_request(token)


def begin_request(credentials: Iterable[str | None]) -> RequestToken:
    """``request_scope`` without a generator (the WSGI middleware's hot path): a fresh set of
    secrets, the request's credential header values among them (read when first needed);
    give the token to ``end_request``."""
    return _secrets.set(_RequestSecrets(credentials))


def end_request(token: RequestToken) -> None:
    _secrets.reset(token)


def remember(value: object) -> None:
    """Redact ``value`` (in its raw, ``repr`` and JSON forms) for the rest of the request."""
    secrets = _secrets.get()
    if secrets is not None:
        _remember_in(secrets, value)


def _remember_in(secrets: _RequestSecrets, value: object) -> None:
    if isinstance(value, bool) or value is None:
        return
    text = value if isinstance(value, str) else str(value)
    if not text:
        return
    if _is_plain(text):  # no quote, backslash or control: every form is the text
        secrets.add((text,))
        return
    forms = (
        text,
        repr(text)[1:-1],
        json.dumps(text)[1:-1],
        json.dumps(text, ensure_ascii=False)[1:-1],
    )
    secrets.add(form for form in forms if form)


def remember_body(body: Any) -> None:
    """Remember the secrets a parsed JSON body carries, at any depth (up to ``_MAX_DEPTH``),
    from the request's first redaction on."""
    secrets = _secrets.get()
    if secrets is not None and isinstance(body, (dict, list)):
        secrets.bodies.append(body)


def _find_secrets(value: Any, depth: int, secrets: _RequestSecrets) -> None:
    """Under a container at ``depth``: every secret key's value is remembered whole, and only
    containers are walked further (most leaves are no secret). Recursion is bounded by
    ``_MAX_DEPTH``."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            name = key.lower() if isinstance(key, str) else str(key).lower()
            container = isinstance(item, (dict, list))
            if name in _LEAF_SECRET_KEYS or (name in _PASSWORD_KEYS and not container):
                _remember_all(item, depth + 1, secrets)
            elif container:
                _find_secrets(item, depth + 1, secrets)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)):
                _find_secrets(item, depth + 1, secrets)


def _remember_all(value: Any, depth: int, secrets: _RequestSecrets) -> None:
    """Every leaf of a secret value, up to ``_MAX_DEPTH``."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            _remember_all(item, depth + 1, secrets)
    else:
        _remember_in(secrets, value)


def redact(text: str) -> str:
    """``text`` with the request's secrets and every secret key's value masked."""
    secrets = _secrets.get()
    if secrets is not None:
        for secret in secrets.longest_first():
            if secret in text:
                text = text.replace(secret, MASK)
    if _KEY_HINT.search(text.lower()) is None:
        return text
    return _KEYED_VALUE.sub(lambda found: found.group(1) + _mask_like(found.group(2)), text)


def _mask_like(value: str) -> str:
    quote = value[0] if value[:1] in ("'", '"') else ""
    return quote + MASK + quote


def record_exception(span: Span, error: BaseException) -> None:
    """The exception as an event whose message and stack trace are redacted."""
    stack = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    span.record_exception(
        error,
        attributes={"exception.message": redact(str(error)), "exception.stacktrace": redact(stack)},
    )


def error_status(description: str) -> Status:
    """An error status whose description is redacted."""
    return Status(StatusCode.ERROR, redact(description))


_FORMATTER = logging.Formatter()  # formats a record's traceback as a handler would


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Redacts a record's message and its traceback (what a handler would print) in place."""
    try:
        message = record.getMessage()
    except Exception:  # a record whose arguments do not fit its message: leave it be
        return record
    record.msg, record.args = redact(message), ()
    if record.exc_info and record.exc_info[1] is not None:
        record.exc_text = redact(_FORMATTER.formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


def install_log_redaction() -> None:
    """Every log record, from any logger and to any handler, is redacted when it is made.
    Installed once: the factory in place says whether it is already ours."""
    make_record = logging.getLogRecordFactory()
    if getattr(make_record, "refnova_redacts", False):
        return

    def redacted_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(make_record(*args, **kwargs))

    redacted_record.refnova_redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacted_record)
