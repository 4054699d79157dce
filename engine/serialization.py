"""Values go to Postgres as JSON: readable in the dashboard and safe to load (no pickle, ever)."""

from __future__ import annotations

import json
import re
import sys
import traceback
from collections.abc import Callable
from typing import Any

from engine.errors import MaxAttemptsExceeded, RecordedError, SerializationError


def dumps(value: Any, what: str | Callable[[], str]) -> str:
    """Encode `value`; `what` names the workflow and step so a failure says where it happened (a callable
    when naming it costs more than encoding: it is only asked on failure)."""
    try:
        text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        where = what() if callable(what) else what
        raise SerializationError(f"{where}: value is not JSON-serializable ({exc})") from None
    if "\\u" in text:  # an escape: rare, so the common value pays one substring test
        _check_storable(value, text, what() if callable(what) else what)
    return text


# The escape of NUL, not an escaped backslash followed by the letters "u0000".
NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def _check_storable(value: Any, text: str, what: str) -> None:
    """Postgres jsonb holds neither a NUL character nor half of a surrogate pair: say so in one line,
    instead of a driver error from the middle of a checkpoint."""
    if NUL_ESCAPE.search(text):
        raise SerializationError(f"{what}: a string holds a NUL character (\\x00), which Postgres cannot store")
    try:
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except UnicodeEncodeError:
        raise SerializationError(f"{what}: a string holds a lone surrogate, which is not valid Unicode") from None


def loads(text: Any) -> Any:
    if text is None or not isinstance(text, str | bytes):
        return text
    return json.loads(text)


def _json_safe(value: Any) -> Any:
    try:
        json.dumps(value, allow_nan=False)
        return value
    except (TypeError, ValueError):
        return repr(value)


def _qualname(exc_type: type) -> str:
    module = exc_type.__module__
    return exc_type.__qualname__ if module == "builtins" else f"{module}.{exc_type.__qualname__}"


def error_to_dict(exc: BaseException, with_traceback: bool = True) -> dict[str, Any]:
    """What is kept of an exception: its class path, message, JSON-safe args and formatted traceback."""
    data: dict[str, Any] = {
        "type": _qualname(type(exc)),
        "message": str(exc),
        "args": [_json_safe(a) for a in exc.args],
    }
    if isinstance(exc, MaxAttemptsExceeded):
        data["step_name"] = exc.step_name
        data["max_attempts"] = exc.max_attempts
        data["errors"] = [error_to_dict(e, with_traceback=False) for e in exc.errors]
    if with_traceback:
        data["traceback"] = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return data


def _find_class(type_name: str) -> type | None:
    """Only classes of modules already imported are rebuilt: loading an error never imports code."""
    module_name, _, qual = type_name.rpartition(".")
    module = sys.modules.get(module_name or "builtins")
    obj: Any = module
    for part in qual.split("."):
        obj = getattr(obj, part, None)
    return obj if isinstance(obj, type) and issubclass(obj, Exception) else None


def error_from_dict(data: dict[str, Any]) -> Exception:
    """Rebuild a recorded exception as its own class where that is safe, else a RecordedError."""
    if data.get("type") == _qualname(MaxAttemptsExceeded):
        errors: list[BaseException] = [error_from_dict(e) for e in data.get("errors", [])]
        return MaxAttemptsExceeded(data.get("step_name", "?"), data.get("max_attempts", len(errors)), errors)
    cls = _find_class(data.get("type", ""))
    if cls is not None:
        try:
            rebuilt: Exception = cls(*data.get("args", []))
            return rebuilt
        except Exception:
            pass
    return RecordedError(data.get("type", "Exception"), data.get("message", ""))
