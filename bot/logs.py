"""Structured logs (structlog): key=value on a console, one JSON object per line in production.

Libraries log through the stdlib (aiohttp.access, apscheduler, alembic, the DingTalk SDK
'dingtalk_stream'); their records go through structlog's ProcessorFormatter with the same renderer,
so in JSON mode every line on stderr is one JSON object with level, event, timestamp and logger.
"""

from __future__ import annotations

import logging
import sys
import threading

import structlog

from bot.log_privacy import format_exc_info, install_record_masking, mask_event


class _CurrentStderr:
    """Writes to whatever sys.stderr is at the time of the write, not at configure time (a
    replaced or closed stream, e.g. under a test runner, must not break later logging).

    structlog and the stdlib handler each write one whole line per call; the shared lock keeps two
    threads' lines from interleaving."""

    _lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class _StdlibHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The one handler genjin puts on the root logger (its own class, so a reconfigure finds it)."""


def configure_logging(level: str = "INFO", fmt: str = "console") -> None:
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False) if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    # Personal data out (bot/log_privacy.py), in both chains: tracebacks without database errors' SQL,
    # parameters and DETAIL, then phones and e-mails masked in every value.
    structlog.configure(
        processors=[*shared, format_exc_info, mask_event, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.WriteLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    handler = _StdlibHandler(_CurrentStderr())  # type: ignore[arg-type]
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, format_exc_info, mask_event,
                    renderer],
    ))
    install_record_masking()  # any other handler (a file, a test's capture) gets masked records too
    _take_over_stderr(handler)
    logging.getLogger().setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # one line per plugin per migrate
    # Its INFO/DEBUG lines are every statement, its parameters and result rows: customer data.
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)


def _take_over_stderr(handler: logging.Handler) -> None:
    """Install `handler` on the root logger and drop plain-text console handlers.

    A bare StreamHandler prints its own format and would break the one-JSON-object-per-line promise:
    the DingTalk SDK adds one to its loggers when none is configured yet (dingtalk_stream/log.py
    `setup_default_logger`), and an earlier basicConfig leaves one on the root. Subclasses (e.g. a
    test runner's capture handler) and file handlers are left alone."""
    root = logging.getLogger()
    loggers = [root, *(lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger))]
    for logger in loggers:
        for old in list(logger.handlers):
            if type(old) is logging.StreamHandler or isinstance(old, _StdlibHandler):
                logger.removeHandler(old)
    root.addHandler(handler)
