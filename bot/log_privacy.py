"""Personal data kept out of every log line, structlog and stdlib alike.

Call sites log ids, never content; these are the last line of defence behind them:

- exceptions are rendered without what a database error quotes: its SQL, its bound parameters and
  PostgreSQL's DETAIL ("Failing row contains (…)", "Key (phone)=(…)") carry message text and
  phone numbers; the class, SQLSTATE and constraint name say what went wrong;
- every string in a log event, and every stdlib record's message and traceback, has its phone
  numbers and e-mail addresses masked (store/privacy.py).
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Iterator
from types import TracebackType
from typing import Any

import structlog
from sqlalchemy.exc import DBAPIError, StatementError

from store.privacy import mask_contacts

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
_DB_MODULES = ("psycopg", "sqlite3")
_OWN_KEYS = frozenset({"timestamp", "level", "logger"})  # set by TimeStamper, add_log_level, add_logger_name
_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def mask_value(value: Any) -> Any:
    """Strings masked; lists, tuples and dicts walked; anything else as it is."""
    if isinstance(value, str):
        return mask_contacts(value)
    if isinstance(value, dict):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(mask_value(v) for v in value)
    return value


def mask_event(_logger: Any, _method: str, event_dict: structlog.types.EventDict) -> structlog.types.EventDict:
    """structlog processor: phones and e-mails masked in every value of the event (but the few
    that genjin's own processors add)."""
    return {key: value if key in _OWN_KEYS else mask_value(value) for key, value in event_dict.items()}


def format_exc_info(_logger: Any, _method: str, event_dict: structlog.types.EventDict) -> structlog.types.EventDict:
    """structlog's format_exc_info, rendering the traceback with safe_message (see render_exception)."""
    exc_info = event_dict.pop("exc_info", None)
    if exc_info:
        info = _exc_info(exc_info)
        if info is not None:
            event_dict["exception"] = render_exception(info)
    return event_dict


def render_exception(exc_info: ExcInfo) -> str:
    """A traceback like Python's, each exception's message replaced by safe_message."""
    parts: list[str] = []
    for exc, link in _chain(exc_info[1]):
        text = "Traceback (most recent call last):\n" + "".join(traceback.format_tb(exc.__traceback__))
        name = type(exc).__qualname__
        module = type(exc).__module__
        qualified = name if module in ("builtins", "__main__") else f"{module}.{name}"
        message = safe_message(exc)
        parts.append(text + (f"{qualified}: {message}" if message else qualified) + "\n" + link)
    return "".join(parts).rstrip("\n")


def safe_message(exc: BaseException) -> str:
    """What an exception may say in a log: a database error only its kind, SQLSTATE and constraint;
    anything else its message with phones and e-mails masked."""
    if isinstance(exc, StatementError):
        orig = exc.orig if isinstance(exc, DBAPIError) else None
        if orig is None:
            return "(statement failed; SQL and parameters not logged)"
        return f"{type(orig).__module__}.{type(orig).__qualname__} {_db_facts(orig)}"
    if type(exc).__module__.split(".")[0] in _DB_MODULES:
        return _db_facts(exc)
    return mask_contacts(str(exc))


def _db_facts(error: BaseException) -> str:
    diag = getattr(error, "diag", None)  # psycopg: structured fields, none of them row values
    facts = {
        "sqlstate": getattr(error, "sqlstate", None) or getattr(error, "sqlite_errorname", None),
        "table": getattr(diag, "table_name", None),
        "column": getattr(diag, "column_name", None),
        "constraint": getattr(diag, "constraint_name", None),
    }
    shown = " ".join(f"{k}={v}" for k, v in facts.items() if v)
    return f"({shown}; message not logged)" if shown else "(message not logged)"


def _chain(exc: BaseException) -> Iterator[tuple[BaseException, str]]:
    """Oldest first, as Python prints them, each with the line that leads on to the next one."""
    seen: set[int] = set()
    chain: list[tuple[BaseException, str]] = []
    current: BaseException | None = exc
    link = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, _CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, _CONTEXT
        else:
            current = None
    return reversed(chain)


def _exc_info(value: Any) -> ExcInfo | None:
    if isinstance(value, BaseException):
        return type(value), value, value.__traceback__
    if isinstance(value, tuple) and len(value) == 3 and isinstance(value[1], BaseException):
        return value[0], value[1], value[2]
    current = sys.exc_info()
    return (current[0], current[1], current[2]) if current[1] is not None and current[0] is not None else None


_FACTORY_MARK = "_genjin_masking"


def install_record_masking() -> None:
    """Mask every stdlib log record where it is made, so no handler (console, JSON, a test's capture)
    sees personal data from a library that logs it (aiohttp, apscheduler, the DingTalk SDK,
    SQLAlchemy's engine log). Idempotent."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, _FACTORY_MARK, False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler, which reports it
            return record
        record.msg, record.args = mask_contacts(message), None
        if record.exc_info and record.exc_info[1] is not None:
            exc_type, exc, tb = record.exc_info
            record.exc_text = render_exception((exc_type or type(exc), exc, tb))
        return record

    setattr(factory, _FACTORY_MARK, True)
    logging.setLogRecordFactory(factory)
