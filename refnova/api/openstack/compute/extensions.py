"""The create pre-processing of Icehouse's OS-SCH-HNT and OS-DCF extensions (§2.2).

They run before the controller and see the raw body, so their failures (and the Python
errors Icehouse's versions raised on odd bodies) decide some answers: F6, F7, P1-P3.
"""

from collections.abc import Callable
from typing import Any

from refnova.exception import ApiError


def _contains(container: Any, key: str) -> bool:
    """Python's ``key in container`` for a JSON value; TypeError means generic-400."""
    if not isinstance(container, (dict, list, str)):
        raise ApiError(400)
    return key in container


_HINT_ATTRIBUTES = ("os:scheduler_hints", "OS-SCH-HNT:scheduler_hints")


def scheduler_hints(body: Any) -> None:
    """OS-SCH-HNT: top-level hints become server["scheduler_hints"]."""
    if not isinstance(body, dict):  # any key found in a list or a string is a generic 400
        if any(_contains(body, key) for key in (*_HINT_ATTRIBUTES, "server")):
            raise ApiError(400)
        return
    hints: dict[str, Any] = {}
    for attribute in _HINT_ATTRIBUTES:
        if attribute in body:
            try:
                hints.update(body[attribute])
            except ValueError:
                raise ApiError(400, "Malformed scheduler_hints attribute")
            except TypeError:
                raise ApiError(400)
            break
    if "server" in body:
        if not isinstance(body["server"], dict):
            raise ApiError(400)
        body["server"]["scheduler_hints"] = hints


def disk_config(body: Any) -> None:
    """OS-DCF: OS-DCF:diskConfig AUTO/MANUAL becomes server["auto_disk_config"]."""
    if not (isinstance(body, dict) and isinstance(body.get("server"), dict)):
        return
    server = body["server"]
    if "OS-DCF:diskConfig" in server:
        value = server["OS-DCF:diskConfig"]
        if value not in ("AUTO", "MANUAL") or not isinstance(value, str):
            raise ApiError(400, "OS-DCF:diskConfig must be either 'MANUAL' or 'AUTO'.")
        server["auto_disk_config"] = value == "AUTO"


CREATE_PRE_PROCESSORS: tuple[Callable[[Any], None], ...] = (scheduler_hints, disk_config)
