"""Each class of bad input measured against the edge (issue #11) answered with a 4xx or one clear
Chinese reply, never a 5xx, and nothing wrong stored: deep JSON, lone surrogates, malformed
multipart, a file where a field belongs, non-finite/huge/negative numbers, ids past the column,
a 100k-character 查, commands over the text cap, an amount past the column."""

from __future__ import annotations

import json

import pytest
from aiohttp import FormData
from sqlmodel import Session, select

from bot.pipeline.worker import BAD_INPUT
from bot.platforms.dingtalk.inbound import parse_message
from bot.safe_input import BadJson, load_json, parse_id
from store.customers import search_customers
from store.db import session_scope
from store.models import Customer, FollowUp, InboxStatus, Member
from tests.edge_support import CJK, LEAD_AUTH, Edge, edge_app
from tests.factories import EPOCH, make_org

BIG = "99999999999999999999"
AMR = b"#!AMR\n" + bytes(range(256)) * 4


@pytest.fixture
async def edge(sqlite_url, tmp_path, clock):
    async with edge_app(sqlite_url, tmp_path, clock) as e:
        yield e


@pytest.fixture
async def edge_db(db_url, tmp_path, clock):  # SQLite and PostgreSQL: their limits differ
    async with edge_app(db_url, tmp_path, clock) as e:
        yield e


async def post_raw(edge: Edge, path: str, body: bytes | str, content_type: str = "application/json",
                   headers: dict[str, str] | None = None) -> int:
    r = await edge.client.post(path, data=body, headers={"Content-Type": content_type, **(headers or {})})
    await r.read()
    return r.status


# ---------------------------------------------------------------- deeply nested JSON

DEEP = [
    pytest.param("[" * 100_000, id="open-brackets"),
    pytest.param('{"a":' * 50_000 + "1" + "}" * 50_000, id="deep-object"),
    pytest.param("[" * 33 + "]" * 33, id="valid-but-33-deep"),
    pytest.param('{"member": "rep-a", "text": "hi", "x": ' + "[" * 2000 + "]" * 2000 + "}", id="deep-extra-field"),
]


@pytest.mark.parametrize("body", DEEP)
@pytest.mark.parametrize("path", ["/sandbox/api/messages", "/sandbox/api/actions", "/api/leads"])
async def test_deeply_nested_json_is_400_and_stores_nothing(edge, path, body):
    before = edge.stored()
    assert await post_raw(edge, path, body, headers=LEAD_AUTH) == 400
    assert edge.stored() == before


def test_load_json_bounds_depth_numbers_and_text():
    assert load_json(b'{"a": [1, 2.5, "x"]}') == {"a": [1, 2.5, "x"]}
    assert load_json("[" * 32 + "]" * 32) is not None
    for bad in ("[" * 33 + "]" * 33, "[" * 100_000, "NaN", '{"a": Infinity}', "[-Infinity]", "1e999", "-1e400",
                "9" * 5000, b"\xff\xfe", "{", ""):
        with pytest.raises(BadJson):
            load_json(bad)
    assert load_json('{"k\\ud800": "a\\udfffb"}') == {"k\ufffd": "a\ufffdb"}


# ---------------------------------------------------------------- lone surrogates

async def test_lone_surrogates_are_replaced_and_the_message_processed(edge_db):
    edge = edge_db
    body = '{"member": "rep-a", "text": "\\ud800张伟 电话 13912345678\\udfff", "msg_id": "s\\ud83d1"}'
    assert await post_raw(edge, "/sandbox/api/messages", body) == 200
    [row] = edge.inbox()
    assert row.text == "\ufffd张伟 电话 13912345678\ufffd" and row.msg_id == "s\ufffd1"
    edge.runtime.worker.drain()
    [row] = edge.inbox()
    assert row.status == InboxStatus.DONE and row.attempts == 1
    r = await edge.client.get("/sandbox/api/messages", params={"member": "rep-a\udc80"})
    assert r.status == 200


async def test_lone_surrogates_in_a_lead_are_replaced(edge_db):
    edge = edge_db
    body = ('{"name": "张\\ud800伟", "phone": "13912345678", "company": "华康\\udfff", "channel": "dy", '
            '"note": "\\udc00"}')
    assert await post_raw(edge, "/api/leads", body, headers=LEAD_AUTH) == 201
    with Session(edge.engine) as s:
        [customer] = s.exec(select(Customer)).all()
    assert customer.name == "张\ufffd伟" and customer.company == "华康\ufffd"
    before = edge.stored()
    bad_key = '{"na\\ud800me": "x", "phone": "13912345679", "channel": "dy"}'
    r = await edge.client.post("/api/leads", data=bad_key, headers={**LEAD_AUTH, "Content-Type": "application/json"})
    assert r.status == 422 and {"field": "na\ufffdme", "reason": "不支持的字段"} in (await r.json())["errors"]
    assert edge.stored() == before


def test_dingtalk_text_with_lone_surrogates_becomes_storable(clock):
    data = {"msgtype": "text", "msgId": "m\ud800", "senderStaffId": "u\udfff", "text": {"content": "你好\ud83d"}}
    inbound = parse_message(data, "frame", clock().tzinfo)  # type: ignore[arg-type]
    assert inbound.inbound.text == "你好\ufffd" and inbound.inbound.sender == "u\ufffd"
    inbound.inbound.raw.encode("utf-8")  # the raw payload (ensure_ascii=False) is encodable too


# ---------------------------------------------------------------- multipart

B = "XyZzY"
MALFORMED_MULTIPART = [
    pytest.param(f"multipart/form-data; boundary={B}",
                 b"--XyZzY\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZzY--", id="no-field-name"),
    pytest.param(f"multipart/form-data; boundary={B}", b"--XyZzY\r\nno colon header\r\n\r\nx\r\n--XyZzY--",
                 id="header-without-colon"),
    pytest.param(f"multipart/form-data; boundary={B}",
                 b'--XyZzY\r\nContent-Disposition: form-data; name="member"\r\n\r\nrep-a', id="truncated"),
    pytest.param("multipart/form-data", b"--x\r\n\r\n--x--", id="no-boundary"),
    pytest.param(f"multipart/form-data; boundary={B}",
                 b'--XyZzY\r\nContent-Disposition: form-data; name="member"\r\nContent-Type: text/plain; '
                 b'charset=no-such-charset\r\n\r\nrep-a\r\n--XyZzY--\r\n', id="unknown-charset"),
    pytest.param(f"multipart/form-data; boundary={B}",
                 b'--XyZzY\r\nContent-Disposition: form-data; name="member"\r\nContent-Transfer-Encoding: '
                 b'base64\r\n\r\n%%%\r\n--XyZzY--\r\n', id="bad-base64"),
    pytest.param(f"multipart/form-data; boundary={B}",
                 b'--XyZzY\r\nContent-Disposition: form-data; name="member"\r\n\r\n\xff\xfe\r\n--XyZzY--\r\n',
                 id="not-utf8"),
    pytest.param(f"multipart/form-data; boundary={B}", b"garbage with no boundary at all", id="garbage"),
    pytest.param("multipart/form-data; boundary=" + "b" * 2000, b"--" + b"b" * 2000 + b"--\r\n", id="long-boundary"),
]


@pytest.mark.parametrize("content_type, body", MALFORMED_MULTIPART)
async def test_malformed_multipart_is_400_and_stores_nothing(edge, content_type, body):
    before = edge.stored()
    assert await post_raw(edge, "/sandbox/api/voice", body, content_type) == 400
    assert edge.stored() == before


def _form(**fields: tuple[str, bytes] | str) -> FormData:
    form = FormData()
    for name, value in fields.items():
        if isinstance(value, tuple):
            form.add_field(name, value[1], filename=value[0], content_type="application/octet-stream")
        else:
            form.add_field(name, value)
    return form


@pytest.mark.parametrize("fields", [
    pytest.param({"member": ("member.txt", b"rep-a"), "file": ("a.amr", AMR)}, id="member-as-file"),
    pytest.param({"member": "rep-a", "msg_id": ("id.txt", b"x1"), "file": ("a.amr", AMR)}, id="msg_id-as-file"),
    pytest.param({"member": "rep-a", "file": "not a file"}, id="file-as-field"),
    pytest.param({"file": ("a.amr", AMR)}, id="no-member"),
])
async def test_a_file_where_a_field_belongs_is_400(edge, fields):
    before = edge.stored()
    r = await edge.client.post("/sandbox/api/voice", data=_form(**fields))
    assert r.status == 400 and CJK.search((await r.json())["error"])
    assert edge.stored() == before


# ---------------------------------------------------------------- numbers

@pytest.mark.parametrize("limit", ["-1e22", "-1", "0", "501", "1e400", "nan", "inf", BIG, "²", "١٢", "1.5", "", " "])
async def test_bad_limit_is_400(edge_db, limit):
    r = await edge_db.client.get("/sandbox/api/messages", params={"member": "rep-a", "limit": limit})
    assert r.status == 400 and "limit" in (await r.json())["error"]


async def test_good_limit_is_200(edge_db):
    for limit in ("1", "500"):
        r = await edge_db.client.get("/sandbox/api/messages", params={"member": "rep-a", "limit": limit})
        assert r.status == 200


@pytest.mark.parametrize("body", [
    '{"member": "rep-a", "text": NaN}', '{"member": "rep-a", "text": "x", "n": Infinity}',
    '{"member": "rep-a", "text": "x", "n": -1e400}', '{"member": -1e22, "text": "x"}',
    '{"member": "rep-a", "text": "x", "msg_id": 99999999999999999999}', '{"member": "rep-a", "text": 1e22}',
    '{"member": "rep-a", "text": "x", "n": ' + "9" * 5000 + "}",
])
async def test_non_finite_or_misplaced_numbers_in_json_are_400(edge, body):
    before = edge.stored()
    assert await post_raw(edge, "/sandbox/api/messages", body) == 400
    assert edge.stored() == before


def test_parse_id_takes_only_ids_that_can_exist():
    assert [parse_id(t) for t in ("12", "#12", "＃12", " 7 ", "2147483647")] == [12, 12, 12, 7, 2147483647]
    for bad in ("0", "-1", "2147483648", BIG, "²", "١٢", "1e3", "12a", "", "#", "+5"):
        assert parse_id(bad) is None


# ---------------------------------------------------------------- ids past the column, in chat

CHAT_WITH_HUGE_IDS = [
    ("rep-a", f"历史 #{BIG}"), ("rep-a", f"认领 #{BIG}"), ("rep-a", f"退回 #{BIG} 不要了"),
    ("rep-a", f"分配原因 #{BIG}"),
    ("rep-a", f"跟进 #{BIG} 打过电话"), ("rep-a", f"阶段 #{BIG} 需求确认"), ("rep-a", f"拜访 #{BIG} 明天下午3点"),
    ("rep-a", f"取消拜访 {BIG}"), ("rep-a", f"改约 {BIG} 明天下午3点"), ("rep-a", f"历史 #{'9' * 5000}"),
    ("rep-a", "历史 #²"), ("sup", f"合并 #1 #{BIG}"), ("sup", f"撤销合并 {BIG}"), ("sup", f"转给 #{BIG} 李明"),
]
CARD_ACTIONS_WITH_HUGE_IDS = [f"confirm:{BIG}", f"tag:{BIG}:要报价", f"fix:{BIG}:0", f"fix:1:{BIG}",
                              f"dup_use:{BIG}", f"lead_claim:{BIG}", f"lead_assign_to:1:{BIG}", f"view:{BIG}",
                              f"snooze:{BIG}", f"reassign_to:1:{BIG}"]


async def test_huge_ids_in_commands_get_one_chinese_reply(edge_db):
    edge = edge_db
    for member, text in CHAT_WITH_HUGE_IDS:
        replies = await edge.say(member, text)
        assert len(replies) == 1 and CJK.search(replies[0]), (text, replies)
    for action in CARD_ACTIONS_WITH_HUGE_IDS:
        before = edge.last_outbox_id()
        r = await edge.client.post("/sandbox/api/actions", json={"member": "sup", "action": action})
        assert r.status == 200
        edge.runtime.worker.drain()
        replies = edge.replies_to("sup", before)
        assert len(replies) == 1 and CJK.search(replies[0].payload["text"]), (action, replies)
    rows = edge.inbox()
    assert [(r.status, r.attempts) for r in rows] == [(InboxStatus.DONE, 1)] * len(rows)


# ---------------------------------------------------------------- long search, the text cap

async def test_a_100k_character_search_gets_the_cap_reply(edge_db):
    [reply] = await edge_db.say("rep-a", "查 " + "张" * 100_000)
    assert "消息太长" in reply
    [reply] = await edge_db.say("rep-a", "查 " + "张" * 300)
    assert reply.startswith("关键词太长")
    [reply] = await edge_db.say("rep-a", "历史 " + "张" * 300)
    assert reply.startswith("客户名称太长")
    assert all(r.status == InboxStatus.DONE for r in edge_db.inbox())


def test_search_matches_literally_and_survives_a_huge_term(db_url, engine):
    org = make_org(engine)
    with session_scope(engine) as s:
        for name in ("张伟", "李_娜", "王100%"):
            s.add(Customer(name=name, owner_id=org.rep_a.id, team_id=org.rep_a.team_id, created_at=EPOCH))
    with Session(engine) as s:
        rep = s.get(Member, org.rep_a.id)
        assert rep is not None
        assert [c.name for c in search_customers(session=s, actor=rep, query="%")] == ["王100%"]
        assert [c.name for c in search_customers(session=s, actor=rep, query="_")] == ["李_娜"]
        assert search_customers(session=s, actor=rep, query="张" * 100_000 + "%_\\" * 1000) == []
        assert [c.name for c in search_customers(session=s, actor=rep, query="张伟")] == ["张伟"]


@pytest.mark.parametrize("text", ["跟进 蔡经理 " + "电话沟通" * 1500, "新客户 " + "张" * 6000,
                                  "拜访 张伟 明天 " + "演" * 6000, "帮助" + " " * 10 + "x" * 6000,
                                  "/unknown " + "x" * 6000])
async def test_commands_obey_the_text_cap(edge, text):
    [reply] = await edge.say("rep-a", text)
    assert reply.startswith("消息太长") and "上限 5000 字" in reply


# ---------------------------------------------------------------- an amount past the column, a failing handler

async def test_an_amount_past_the_column_is_left_out_not_a_failure(edge_db):
    replies = await edge_db.say("rep-a", "华康医疗的蔡经理说合同金额50亿元，电话 13912345678，明天上午十点再电话沟通")
    assert replies and all(r.status == InboxStatus.DONE for r in edge_db.inbox())
    with Session(edge_db.engine) as s:
        [followup] = s.exec(select(FollowUp)).all()
    assert followup.amount_cny is None and "50亿元" in followup.text


async def test_an_error_from_the_content_fails_once_with_a_chinese_reply(edge, monkeypatch):
    from bot.handlers import commands

    def overflow(_ctx, _args):
        raise OverflowError("Python int too large to convert to SQLite INTEGER")

    monkeypatch.setitem(commands._HANDLERS, "help", overflow)
    assert await edge.say("rep-a", "帮助") == [BAD_INPUT]
    [row] = edge.inbox()
    assert (row.status, row.attempts) == (InboxStatus.FAILED, 1)


def test_bad_json_reason_is_chinese():
    with pytest.raises(BadJson) as info:
        load_json(json.dumps([[[]]]).replace("[]", "[" * 40 + "]" * 40))
    assert CJK.search(info.value.reason)
