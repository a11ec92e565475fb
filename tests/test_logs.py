"""Log format: in JSON mode every line on stderr is one JSON object, whoever logged it (structlog,
aiohttp, APScheduler, the DingTalk SDK, alembic); console mode stays readable.

Each case runs in a fresh interpreter so the real process stderr is captured and the test runner's
own logging setup neither helps nor hides anything."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent

SCRIPT = """
import logging, sys
from dingtalk_stream.log import setup_default_logger

# The SDK adds its own plain-text handler to a logger that has none yet (before configure: as at import).
early = setup_default_logger("dingtalk_stream.client")
logging.basicConfig(level="INFO")  # a stray basicConfig before ours leaves a plain handler on the root

from bot.logs import configure_logging

configure_logging("INFO", sys.argv[1])
import structlog

structlog.get_logger("genjin.test").info("structlog_event", inbound_id=7)
logging.getLogger("aiohttp.access").warning('127.0.0.1 "GET /healthz HTTP/1.1" 200')
logging.getLogger("apscheduler.scheduler").warning("Run time of job %r was missed by %s", "push_sweeps", "0:00:05")
early.info("open connection, url=%s", "https://api.dingtalk.com/v1.0/gateway/connections/open")
setup_default_logger("dingtalk_stream.handler").error("late SDK logger after configure")
try:
    1 / 0
except ZeroDivisionError:
    logging.getLogger("aiohttp.server").exception("Error handling request")
from store.db import migrate

migrate("sqlite:///" + sys.argv[2])  # alembic logs 'Context impl SQLiteImpl.' and each step at INFO
"""


def run(fmt: str, tmp_path: Path) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, fmt, str(tmp_path / "g.db")], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    return proc.stderr.splitlines()


def test_json_mode_every_stderr_line_is_one_json_object(tmp_path):
    lines = run("json", tmp_path)
    records = []
    for line in lines:
        record = json.loads(line)  # a plain-text line fails here
        assert isinstance(record, dict)
        assert {"level", "event", "timestamp"} <= set(record), record
        records.append(record)
    by_event = {r["event"]: r for r in records}
    assert by_event["structlog_event"]["inbound_id"] == 7 and by_event["structlog_event"]["level"] == "info"
    assert by_event['127.0.0.1 "GET /healthz HTTP/1.1" 200']["logger"] == "aiohttp.access"
    missed = by_event["Run time of job 'push_sweeps' was missed by 0:00:05"]
    assert missed["logger"] == "apscheduler.scheduler" and missed["level"] == "warning"
    assert by_event["open connection, url=https://api.dingtalk.com/v1.0/gateway/connections/open"]["logger"] \
        == "dingtalk_stream.client"
    assert by_event["late SDK logger after configure"]["level"] == "error"
    crash = by_event["Error handling request"]
    assert "ZeroDivisionError" in crash["exception"] and "\n" not in json.dumps(crash)
    assert any(r.get("logger", "").startswith("alembic") for r in records)
    # Nothing printed twice (the SDK's and basicConfig's own handlers are gone).
    assert len(records) == len({json.dumps(r, sort_keys=True) for r in records})
    assert sum(r["event"] == "late SDK logger after configure" for r in records) == 1


@pytest.mark.parametrize("fmt", ["console"])
def test_console_mode_is_readable_and_has_the_same_lines(fmt, tmp_path):
    lines = run(fmt, tmp_path)
    text = "\n".join(lines)
    assert "structlog_event" in text and "inbound_id=7" in text
    assert "Run time of job 'push_sweeps' was missed" in text and "[warning" in text
    assert "late SDK logger after configure" in text
    assert text.count("late SDK logger after configure") == 1
    with pytest.raises(ValueError):
        json.loads(lines[0])
