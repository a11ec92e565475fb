"""End to end through the fake WeCom: a rep's pasted chat becomes a follow-up record and a template
card in their WeCom chat; taps on that card toggle a tag (the card is replaced in place) and
confirm; a voice memo is downloaded at once and kept; strangers are told they are not members."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sqlmodel import Session, col, select

from store.models import Customer, FollowUp, InboundMessage, OutboxMessage
from tests.factories import make_org
from tests.fakes.wecom import wecom_stack

CHAT = ("许志强 11/16 09:15\n小王，你们的报价我看了，43万比我们预期高了不少\n"
        "王芳 11/16 09:18\n许总，这个价格包含了三年的运维服务，性价比其实很高的\n"
        "许志强 11/16 09:22\n东软给的方案也差不多，价格低一截。你们要是能再降一些，我们可以考虑\n"
        "王芳 11/16 09:25\n我跟领导争取一下，周四上午给您答复")
VOICE = Path(__file__).parent / "data" / "voice"
SAID = "今天拜访了华信物流的张伟张总，他们对运输管理系统很感兴趣，预算大概15万，这周四上午再给他打电话。"


def followups(engine) -> list[tuple[FollowUp, Customer]]:
    with Session(engine) as s:
        return list(s.exec(select(FollowUp, Customer).where(col(FollowUp.customer_id) == col(Customer.id))).all())


async def test_pasted_chat_card_tag_toggle_and_confirm(db_url, tmp_path, clock):
    async with wecom_stack(db_url, tmp_path / "var", clock=clock) as st:
        make_org(st.runtime.engine)
        d, fake = st.driver, st.fake
        assert (await d.push(d.text_xml("wangfang", CHAT))).final == 200
        assert await st.work() == 1

        [(followup, customer)] = followups(st.runtime.engine)
        assert customer.name == "许志强" and followup.amount_cny == 430000
        assert {"价格异议", "竞品对比"} <= set(followup.tags) and not followup.confirmed
        [sent] = fake.sent_to("wangfang", "template_card")
        card = sent["template_card"]
        fid = followup.id
        keys = [b["key"] for b in card["button_list"]]
        assert f"confirm:{fid}" in keys
        # The rep's 周四上午给您答复 is on the card as a promise (移除承诺1 takes one of WeCom's six slots,
        # so the quick tag buttons may all be chosen ones): one tap on a tag button toggles it.
        assert any(k.startswith("pdrop:") for k in keys)
        tag = next(k.rpartition(":")[2] for k in keys if k.startswith(f"tag:{fid}:"))
        had = tag in followup.tags

        # The rep taps it (one tap); WeCom pushes the click.
        click = d.card_click_xml("wangfang", event_key=f"tag:{fid}:{tag}", task_id=card["task_id"],
                                 response_code=fake.click("wangfang", card["task_id"]), create_time=1763254800)
        assert (await d.push(click)).final == 200
        assert (await d.push(click)).final == 200  # WeCom's retry of the same click: no second toggle
        assert await st.work() == 1
        [(followup, _)] = followups(st.runtime.engine)
        assert (tag in followup.tags) != had
        [update] = fake.updates  # the clicked card itself now shows the tag's new state
        assert update["replaces_task_id"] == card["task_id"]
        new_buttons = {b["key"]: b["text"] for b in update["template_card"]["button_list"]}
        assert new_buttons[f"tag:{fid}:{tag}"] == (tag if had else f"✓ {tag}")
        assert len(fake.sent_to("wangfang", "template_card")) == 1

        new_task = update["template_card"]["task_id"]
        confirm = d.card_click_xml("wangfang", event_key=f"confirm:{fid}", task_id=new_task,
                                   response_code=fake.click("wangfang", new_task), create_time=1763254900)
        assert (await d.push(confirm)).final == 200
        await st.work()
        [(followup, customer)] = followups(st.runtime.engine)
        assert followup.confirmed
        assert any("已保存 许志强 的跟进记录" in m["text"]["content"] for m in fake.sent_to("wangfang", "text"))
        assert fake.dropped == []
        # The tapped card itself is finished in place: one grey 「已确认」, nothing left to tap.
        finished = fake.updates[-1]
        assert len(fake.updates) == 2 and finished["replaces_task_id"] == new_task
        assert finished["replace_name"] == "已确认"
        assert "button_list" not in fake.card_as_shown(new_task)
        assert len(fake.sent_to("wangfang", "template_card")) == 1  # still one card in the chat
        # A late retry of the same tap (a re-delivered reply) cannot spend the code twice.
        await st.work()
        assert len(fake.updates) == 2


async def test_voice_memo_becomes_a_followup_card(db_url, tmp_path, clock):
    async with wecom_stack(db_url, tmp_path / "var", clock=clock) as st:
        make_org(st.runtime.engine)
        memo = (VOICE / "memo_short.amr").read_bytes()
        media_id = st.fake.add_media(memo)
        assert (await st.driver.push(st.driver.voice_xml("wangfang", media_id))).final == 200
        with Session(st.runtime.engine) as s:
            [row] = s.exec(select(InboundMessage)).all()
        # Downloaded before the ack (media ids expire in 3 days): the audio is on disk already.
        assert row.kind == "voice" and row.media_ref and row.media_ref.endswith(".amr")
        assert (st.runtime.settings.media_dir / row.media_ref).read_bytes() == memo

        st.runtime.transcriber._transcribe = lambda _path: SAID  # Whisper's stand-in
        await st.work()
        assert await asyncio.to_thread(st.runtime.transcriber.drain) == 1
        await st.runtime.sender.run_once()

        [(followup, customer)] = followups(st.runtime.engine)
        assert followup.kind == "voice" and customer.name.startswith("张") and followup.amount_cny == 150000
        [card] = st.fake.sent_to("wangfang", "template_card")
        assert f"confirm:{followup.id}" in {b["key"] for b in card["template_card"]["button_list"]}
        # The transcript rides on the card (no separate text message before it).
        assert SAID in json.dumps(card, ensure_ascii=False)
        assert not any(SAID in m["text"]["content"] for m in st.fake.sent_to("wangfang", "text"))


async def test_a_stranger_is_told_to_ask_an_admin(sqlite_url, tmp_path, clock):
    async with wecom_stack(sqlite_url, tmp_path / "var", clock=clock) as st:
        make_org(st.runtime.engine)
        await st.driver.push(st.driver.text_xml("zhangsan", "你好"))
        await st.work()
        [msg] = st.fake.sent_to("zhangsan", "text")
        assert "还不是 genjin 团队成员" in msg["text"]["content"]
        with Session(st.runtime.engine) as s:
            assert s.exec(select(OutboxMessage.status)).all() == ["sent"]


async def test_a_refused_confirm_leaves_the_card_live_and_one_tap_confirms(db_url, tmp_path, clock):
    """The card is finished only when the record really is confirmed: a tap the handler refuses (here
    a stale key naming no record of this rep) leaves it live; the real 确认 then finishes it in one tap."""
    async with wecom_stack(db_url, tmp_path / "var", clock=clock) as st:
        make_org(st.runtime.engine)
        d, fake = st.driver, st.fake
        assert (await d.push(d.text_xml("wangfang", CHAT))).final == 200
        await st.work()
        [sent] = fake.sent_to("wangfang", "template_card")
        task = sent["template_card"]["task_id"]
        [(followup, _)] = followups(st.runtime.engine)

        stale = d.card_click_xml("wangfang", event_key="confirm:999", task_id=task,
                                 response_code=fake.click("wangfang", task), create_time=1763254800)
        assert (await d.push(stale)).final == 200
        await st.work()
        assert fake.updates == [] and "button_list" in fake.card_as_shown(task)

        confirm = d.card_click_xml("wangfang", event_key=f"confirm:{followup.id}", task_id=task,
                                   response_code=fake.click("wangfang", task), create_time=1763254900)
        assert (await d.push(confirm)).final == 200
        await st.work()
        [finished] = fake.updates
        assert finished["replace_name"] == "已确认" and "button_list" not in fake.card_as_shown(task)
        [(followup, customer)] = followups(st.runtime.engine)
        assert followup.confirmed and customer.name == "许志强"


async def test_an_image_is_downloaded_before_the_ack_and_read_into_a_card(db_url, tmp_path, clock):
    from bot.ocr.runner import UNREADABLE
    from tests.ocr_support import draw_lines, encode

    async with wecom_stack(db_url, tmp_path / "var", clock=clock) as st:
        make_org(st.runtime.engine)
        shot = encode(draw_lines(["许志强 11/16 09:15", "合同我们这边已经盖章了，明天寄回给你"]))
        media_id = st.fake.add_media(shot, content_type="image/png")
        assert (await st.driver.push(st.driver.image_xml("wangfang", media_id))).final == 200
        with Session(st.runtime.engine) as s:
            [row] = s.exec(select(InboundMessage)).all()
        # Fetched with media/get before the ack (media ids expire in 3 days), stored by its magic bytes.
        assert row.kind == "image" and row.media_ref and row.media_ref.endswith(".png")
        assert (st.runtime.settings.media_dir / row.media_ref).read_bytes() == shot
        assert [c.query["media_id"] for c in st.fake.calls_to("/cgi-bin/media/get")] == [media_id]

        assert st.runtime.ocr is not None
        st.runtime.ocr._read = lambda _job, _path: "许志强 11/16 09:15\n合同我们这边已经盖章了，明天寄回给你"
        await st.work()
        assert await asyncio.to_thread(st.runtime.ocr.drain) == 1
        await st.runtime.sender.run_once()
        [(followup, customer)] = followups(st.runtime.engine)
        assert followup.kind == "image" and customer.name == "许志强"
        [card] = st.fake.sent_to("wangfang", "template_card")
        assert f"confirm:{followup.id}" in {b["key"] for b in card["template_card"]["button_list"]}

        # A file that is no image at all, sent as one: a clear answer in WeCom, the bytes kept.
        broken = st.fake.add_media(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, content_type="image/png")
        await st.driver.push(st.driver.image_xml("wangfang", broken))
        await st.work()
        assert any(m["text"]["content"] == UNREADABLE for m in st.fake.sent_to("wangfang", "text"))
