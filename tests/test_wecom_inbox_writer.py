"""Group-committed inbox inserts (the WeCom ack path): the same rows store.inbox.insert_inbound
writes, one answer per caller, duplicates (stored or in the same batch) as None, a bad row failing
alone."""

from __future__ import annotations

import asyncio

from sqlmodel import Session, col, select

from bot.models import Inbound, InboundKind, Platform
from bot.pipeline.inbox_writer import InboxWriter, insert_many
from store.db import session_scope
from store.inbox import insert_inbound
from store.models import InboundMessage
from tests.factories import T0


def inbound(msg_id: str, **kw) -> Inbound:
    values = {"platform": Platform.WECOM, "msg_id": msg_id, "sender": "wangfang", "kind": InboundKind.TEXT,
              "text": "报价\x00单", "raw": "<xml>\x00</xml>", **kw}
    return Inbound(**values)


def stored(engine) -> list[InboundMessage]:
    with Session(engine) as s:
        return list(s.exec(select(InboundMessage).order_by(col(InboundMessage.id))).all())


def test_rows_match_insert_inbound(engine):
    one = inbound("a", media_ref="ab/cd.amr", kind=InboundKind.VOICE, chat="group-1")
    with session_scope(engine) as s:
        insert_inbound(session=s, platform="wecom", msg_id="ref", sender=one.sender, kind=one.kind, chat=one.chat,
                       text=one.text, media_ref=one.media_ref, raw=one.raw, at=T0)
        insert_many(s, [one], T0)
    ref, ours = stored(engine)
    skip = {"id", "msg_id", "received_at"}
    assert {k: v for k, v in ref.model_dump().items() if k not in skip} == \
           {k: v for k, v in ours.model_dump().items() if k not in skip}


def test_duplicates_in_the_table_and_in_the_batch(engine):
    with session_scope(engine) as s:
        [first] = insert_many(s, [inbound("m1")], T0)
    with session_scope(engine) as s:
        results = insert_many(s, [inbound("m1"), inbound("m2"), inbound("m2"), inbound("m3")], T0)
    assert isinstance(first, int)
    assert results[0] is None and isinstance(results[1], int) and results[2] is None and isinstance(results[3], int)
    assert [r.msg_id for r in stored(engine)] == ["m1", "m2", "m3"]


async def test_concurrent_callers_share_commits_and_each_get_their_answer(engine):
    writer = InboxWriter(engine, lambda: T0)
    msgs = [inbound(f"c{i % 40}") for i in range(120)]  # every message three times
    results = await asyncio.gather(*(writer.insert(m) for m in msgs))
    assert sum(isinstance(r, int) for r in results) == 40
    assert sum(r is None for r in results) == 80
    assert len(stored(engine)) == 40


async def test_a_failing_row_fails_alone(engine, monkeypatch):
    import bot.pipeline.inbox_writer as module

    real = module.insert_many

    def picky(session, batch, now):
        if any(b.msg_id == "bad" for b in batch):
            raise RuntimeError("constraint violated")
        return real(session, batch, now)

    monkeypatch.setattr(module, "insert_many", picky)
    writer = InboxWriter(engine, lambda: T0)
    results = await asyncio.gather(*(writer.insert(inbound(m)) for m in ("ok1", "bad", "ok2")),
                                   return_exceptions=True)
    assert isinstance(results[0], int) and isinstance(results[2], int)
    assert isinstance(results[1], RuntimeError)
    assert [r.msg_id for r in stored(engine)] == ["ok1", "ok2"]
