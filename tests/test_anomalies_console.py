"""/console/anomalies over HTTP: a supervisor sees the team's open items and reviews them with the
card's actions as forms (CSRF-checked); a rep sees only their own, without actions."""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from store.anomalies import file_anomaly
from store.db import session_scope
from store.models import Anomaly, Member, OutboxMessage
from tests.console_support import client, console_stack, follow, load


@pytest.fixture
async def stack(tmp_path, db_url, clock):
    async with console_stack(tmp_path, db_url, clock) as s:
        yield s


def _anomaly(stack, *, rep_id: int | None = None) -> int:
    with session_scope(stack.runtime.engine) as s:
        anomaly_id, _ = file_anomaly(session=s, key=f"amount:{stack.book.confirmed}:{rep_id}", kind="amount",
                                     team_id=stack.org.rep_a.team_id, rep_id=rep_id or stack.org.rep_a.id,
                                     customer_id=stack.book.mine, summary="蔡经理 的金额 398万元，相差超过 5 倍",
                                     followup_ids=[stack.book.confirmed], at=stack.runtime.worker.clock())
        return anomaly_id


async def _login(stack, http, user: str, member_id: int):
    with session_scope(stack.runtime.engine) as s:
        m = s.get(Member, member_id)
        m.wecom_userid = user
        s.add(m)
    stack.wecom.login_user = user
    return await follow(http, stack.url("/console/login/wecom?next=/console/anomalies"))


async def test_supervisor_reviews_from_the_list(stack):
    anomaly_id = _anomaly(stack)
    async with client() as http:
        resp, text, _ = await _login(stack, http, "chen", stack.org.supervisor.id)
        assert resp.status == 200 and "金额异常" in text and "398万元" in text and "王芳" in text
        csrf = text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        url = stack.url(f"/console/anomalies/{anomaly_id}")
        async with http.post(url, data={"action": "return"}) as r:  # no token
            assert r.status == 403
        async with http.post(url, data={"action": "delete", "csrf": csrf}) as r:
            assert r.status == 400
        async with http.post(url, data={"action": "return", "csrf": csrf,
                                        "reason": "金额写成了三年合同额，打 13912345678 确认"},
                             allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"].endswith("done=returned")
        a = load(stack.runtime, Anomaly, anomaly_id)
        assert a.status == "returned" and a.reviewer_id == stack.org.supervisor.id
        assert "13912345678" not in a.reason and "三年合同额" in a.reason
        with Session(stack.runtime.engine) as s:
            row = s.exec(select(OutboxMessage).where(col(OutboxMessage.dedupe_key) == f"anomaly:{anomaly_id}:returned")
                         ).one()
        assert row.member_id == stack.org.rep_a.id and "三年合同额" in str(row.payload)
        async with http.post(url, data={"action": "return", "csrf": csrf}) as r:
            assert r.status == 409  # returned already
        async with http.post(url, data={"action": "ok", "csrf": csrf}, allow_redirects=False) as r:
            assert r.status == 303
        assert load(stack.runtime, Anomaly, anomaly_id).status == "ok"
        _, text, _ = await follow(http, stack.url("/console/anomalies"))
        assert "398万元" not in text and "没有待处理的数据异常" in text


async def test_rep_sees_own_without_actions_and_cannot_review(stack):
    own = _anomaly(stack)
    others = _anomaly(stack, rep_id=stack.org.rep_b.id)
    async with client() as http:
        resp, text, _ = await _login(stack, http, "wangfang", stack.org.rep_a.id)
        assert resp.status == 200 and f'id="anomaly-{own}"' in text and f'id="anomaly-{others}"' not in text
        assert "退回给销售" not in text
        csrf = text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        async with http.post(stack.url(f"/console/anomalies/{own}"), data={"action": "ok", "csrf": csrf}) as r:
            assert r.status == 404
        async with http.post(stack.url("/console/anomalies/x"), data={"action": "ok", "csrf": csrf}) as r:
            assert r.status == 400
    assert load(stack.runtime, Anomaly, own).status == "open"


async def test_other_teams_supervisor_sees_nothing(stack):
    anomaly_id = _anomaly(stack)
    async with client() as http:
        resp, text, _ = await _login(stack, http, "sup2", stack.org.other_supervisor.id)
        assert resp.status == 200 and f'id="anomaly-{anomaly_id}"' not in text
        csrf = text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        async with http.post(stack.url(f"/console/anomalies/{anomaly_id}"), data={"action": "ok", "csrf": csrf}) as r:
            assert r.status == 404
