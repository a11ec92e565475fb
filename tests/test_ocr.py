"""Images and PDFs as evidence: inbox -> OCR job row -> runner (real RapidOCR) -> the pasted-chat
understanding -> card; unreadable, corrupt and oversized files get a clear Chinese reply; a killed
runner's job is resumed after its lease; what was read is searchable and counts as stage evidence."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, func, select

from bot.app import build_runtime
from bot.config import Settings
from bot.handlers.evidence import FIRST_PAGES, NOT_FETCHED, on_ocr_text
from bot.ocr.engine import OcrUnreadable, probe, read_file
from bot.ocr.runner import FAILED, UNREADABLE, OcrRunner
from bot.pipeline.media import store_media
from store.customers import create_customer
from store.db import session_scope
from store.models import Customer, FollowUp, InboundMessage, InboxStatus, OcrJob, OcrStatus, TimelineEvent
from store.stages import Stage
from tests.factories import make_org
from tests.harness import ChatDriver
from tests.ocr_support import FONT, char_accuracy, draw_lines, encode, pdf_of

CHAT_SHOT = ["许志强 11/16 09:15", "合同我们这边已经盖章了，明天寄回给你", "王芳 11/16 09:18",
             "好的许总，收到后安排下周一上线培训"]
CONTRACT = ["产品采购合同", "合同编号：HT-2026-0815", "甲方：远东物流有限公司", "乙方：星辰云科技有限公司",
            "甲方（盖章）：远东物流有限公司", "签订日期：2026年11月20日"]


def test_the_font_is_installed():
    # .ci/run installs fonts-wqy-zenhei; without it every image test below would be meaningless.
    assert FONT.is_file()


class Evidence:
    def __init__(self, settings: Settings, engine, clock) -> None:
        self.settings, self.engine, self.clock = settings, engine, clock
        self.runtime = build_runtime(settings, clock=clock, engine=engine)
        self.chat = ChatDriver(self.runtime, platform="sandbox")
        self.org = make_org(engine)
        self.reads: list[Path] = []
        self.fail = 0
        self.runner = self.make_runner(real=True)

    def make_runner(self, *, real: bool = False, text: str = "") -> OcrRunner:
        def fake(_job: OcrJob, path: Path) -> str:
            self.reads.append(path)
            if len(self.reads) <= self.fail:
                raise RuntimeError("onnx crashed")
            return text
        return OcrRunner(self.engine, self.settings, clock=self.clock, on_text=on_ocr_text,
                         read=None if real else fake)

    def send(self, data: bytes, ext: str = "png", kind: str = "image", sender: str = "rep-a") -> list:
        ref = store_media(data, self.settings.media_dir, ext)
        return self.chat.send(sender, "", kind=kind, media_ref=ref)

    def read(self, runner: OcrRunner | None = None) -> list:
        (runner or self.runner).drain()
        return self.chat.new_messages()

    def job(self) -> OcrJob:
        with Session(self.engine) as s:
            return s.exec(select(OcrJob)).one()

    def count(self, model) -> int:
        with Session(self.engine) as s:
            return s.exec(select(func.count()).select_from(model)).one()

    def customer(self, name: str, company: str, stage: str = Stage.FIRST_CONTACT) -> int:
        with session_scope(self.engine) as s:
            c = create_customer(session=s, actor=self.org.rep_a, name=name, company=company, stage=stage,
                                at=self.clock())
            return c.id or 0


@pytest.fixture
def ev(settings, engine, clock) -> Evidence:
    return Evidence(settings, engine, clock)


# -- reading (real OCR, no database) -----------------------------------------------------------------

def test_a_generated_png_with_chinese_text_is_read(tmp_path):
    lines = ["张总：合同已盖章，明天寄回", "报价 12.5万元，华东区三个仓库", "下周二上午十点现场演示"]
    path = tmp_path / "a.png"
    path.write_bytes(encode(draw_lines(lines, size=30)))
    assert probe(path, max_pixels=40_000_000).kind == "image"
    got = read_file(path, kind="image", pages=1, threads=2, pdf_scale=2.0, max_pixels=40_000_000)
    assert got.count("\n") == 2  # one line per text line, top to bottom
    assert "合同已盖章" in got and "12.5万元" in got and "现场演示" in got
    assert char_accuracy("".join(lines), got) >= 0.9


def test_a_pdf_with_two_pages_reads_both_in_order(tmp_path):
    path = tmp_path / "m.pdf"
    path.write_bytes(pdf_of([draw_lines(["会议纪要 第一页", "客户要求下周演示"]),
                             draw_lines(["第二页 合同条款", "付款方式：验收后付"])]))
    info = probe(path, max_pixels=40_000_000)
    assert (info.kind, info.pages_total) == ("pdf", 2)
    got = read_file(path, kind="pdf", pages=2, threads=2, pdf_scale=2.0, max_pixels=40_000_000)
    assert got.index("会议纪要") < got.index("合同条款") and "验收后付" in got
    first = read_file(path, kind="pdf", pages=1, threads=2, pdf_scale=2.0, max_pixels=40_000_000)
    assert "会议纪要" in first and "合同条款" not in first  # the page cap holds


@pytest.mark.parametrize("data", [b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, b"%PDF-1.7\n garbage", b"GIF89a"])
def test_corrupt_files_are_unreadable_not_a_crash(tmp_path, data):
    path = tmp_path / "x.bin"
    path.write_bytes(data)
    with pytest.raises(OcrUnreadable):
        probe(path, max_pixels=40_000_000)


def test_a_decompression_bomb_is_refused_before_decoding(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(encode(draw_lines(["大"], size=20, width=4000)))
    with pytest.raises(OcrUnreadable, match="too many pixels"):
        probe(path, max_pixels=100_000)


# -- the pipeline ---------------------------------------------------------------------------------------

def test_a_chat_screenshot_becomes_a_card_for_the_right_customer(ev):
    """The end to end: a photo of a chat reads like the same chat pasted, and lands on the known customer."""
    known = ev.customer("许志强", "远东物流", stage=Stage.NEGOTIATION)
    ev.customer("许志刚", "华康医疗")
    assert ev.send(encode(draw_lines(CHAT_SHOT))) == []  # one image: no "正在识别" message, just the card
    with Session(ev.engine) as s:
        job = s.exec(select(OcrJob)).one()
        assert job.status == OcrStatus.PENDING and job.media_kind == "image"
        assert s.get(InboundMessage, job.inbound_id).status == InboxStatus.DONE  # the inbox is not held
    (card,) = ev.read()
    assert card.field("客户").startswith("许志强")
    assert any(n.startswith("🖼 图片文字：许志强 11/16 09:15") for n in card.card.notes)
    with Session(ev.engine) as s:
        f = s.exec(select(FollowUp)).one()
        assert f.customer_id == known and f.kind == "image" and "盖章" in f.text
        assert f.source_inbound_id == job.inbound_id
        assert s.get(OcrJob, job.id).status == OcrStatus.DONE
    assert ev.count(Customer) == 2  # no new customer
    assert ev.read() == []  # done once


def test_a_contract_photo_is_stage_evidence_and_its_text_is_searchable(ev):
    cid = ev.customer("许志强", "远东物流", stage=Stage.NEGOTIATION)
    refused = ev.chat.reply_to("rep-a", f"阶段 #{cid} 已成交").text
    assert "需要已确认的跟进记录含" in refused  # no evidence yet
    ev.runner = ev.make_runner(text="\n".join(["许志强", *CONTRACT]))
    ev.send(encode(draw_lines(["stand-in"])))
    (card,) = ev.read()
    ev.chat.tap("rep-a", card.action("确认"))
    # The photo's words are evidence under the one rule set (store/stages.py: 盖章 for 已成交).
    assert "已把 许志强 的阶段从「合同洽谈」改为「已成交」" in ev.chat.reply_to("rep-a", f"阶段 #{cid} 已成交").text
    found = ev.chat.reply_to("rep-a", "查 HT-2026-0815").text  # a contract number only the photo has
    assert f"#{cid} 许志强" in found


def test_a_demo_agenda_suggests_the_demo_stage(ev):
    ev.customer("蔡敏", "华康医疗", stage=Stage.NEEDS_CONFIRMED)
    ev.runner = ev.make_runner(text="蔡敏 华康医疗 产品演示议程\n1.运输管理系统方案讲解\n2.现场演示调度看板")
    ev.send(encode(draw_lines(["stand-in"])))
    (card,) = ev.read()
    assert card.field("客户").startswith("蔡敏")
    with Session(ev.engine) as s:
        assert s.exec(select(FollowUp.stage_hint)).one() == Stage.DEMO


def test_text_with_nothing_to_extract_is_filed_on_the_timeline(ev):
    ev.chat.reply_to("rep-a", "许志强 11/16 09:15\n你们的报价我看了，周四上午给您答复")
    ev.runner = ev.make_runner(text="Q4 目标\nKPI 看板")
    ev.send(encode(draw_lines(["stand-in"])))
    (reply,) = ev.read()
    assert "已归档到 许志强" in reply.text
    with Session(ev.engine) as s:
        event = s.exec(select(TimelineEvent).where(col(TimelineEvent.kind) == "attachment")).one()
        assert event.summary == "附件：图片文字「Q4 目标 KPI 看板」" and event.ref["text"] == "Q4 目标\nKPI 看板"


def test_a_corrupt_image_gets_a_chinese_reply_and_no_job(ev):
    (reply,) = ev.send(b"\x89PNG\r\n\x1a\n" + b"\x13" * 200)
    assert reply.text == UNREADABLE and "无法读取" in reply.text
    assert ev.count(OcrJob) == 0
    with Session(ev.engine) as s:
        row = s.exec(select(InboundMessage)).one()
        assert row.status == InboxStatus.DONE and row.error.startswith("unreadable")
        assert (ev.settings.media_dir / row.media_ref).is_file()  # the file is kept


def test_an_image_that_breaks_while_decoding_is_given_up_with_the_same_reply(ev):
    # A JPEG whose header is whole but whose data is cut: the cheap probe passes, the decode fails.
    data = encode(draw_lines(CHAT_SHOT), "JPEG")
    assert ev.send(data[: len(data) // 3], ext="jpg") == []
    assert [m.text for m in ev.read()] == [UNREADABLE]
    job = ev.job()
    assert job.status == OcrStatus.FAILED and job.error.startswith("unreadable")


def test_a_file_over_the_size_cap_is_refused_in_chinese(ev):
    ev.settings.ocr.max_bytes = 2048
    (reply,) = ev.send(encode(draw_lines(CHAT_SHOT)))
    assert reply.text.startswith("文件太大（") and "上限 2 KB" in reply.text
    assert ev.count(OcrJob) == 0


def test_a_long_pdf_is_read_up_to_the_page_cap_and_the_rep_is_told(ev):
    ev.settings.ocr.max_pdf_pages = 2
    ev.runner = ev.make_runner(text="")
    pages = [draw_lines([f"第{i}页"]) for i in range(1, 4)]
    (told,) = ev.send(pdf_of(pages), ext="pdf", kind="file")
    assert told.text == FIRST_PAGES.format(total=3, pages=2)
    job = ev.job()
    assert (job.media_kind, job.pages, job.pages_total) == ("pdf", 2, 3)
    assert [m.text for m in ev.read()][0] == "没有在文件中识别到文字。"


def test_other_files_are_filed_as_before(ev):
    (reply,) = ev.send(b"PK\x03\x04 a docx", ext="docx", kind="file")
    assert "是哪位客户的" in reply.text and ev.count(OcrJob) == 0


def test_an_image_not_yet_downloaded_is_deferred(ev):
    (reply,) = ev.chat.send("rep-a", "", kind="image", media_ref="wecom:MEDIA_1")
    assert reply.text == NOT_FETCHED
    with Session(ev.engine) as s:
        assert s.exec(select(InboundMessage.status)).one() == InboxStatus.DEFERRED


def test_a_runner_that_died_mid_ocr_is_resumed_after_its_lease(ev):
    ev.customer("许志强", "远东物流")
    ev.runner = ev.make_runner(text="\n".join(CHAT_SHOT))
    ev.send(encode(draw_lines(["stand-in"])))
    dead = ev.make_runner(text="另一个结果")
    claimed = dead.claim()  # ... and the process dies here, mid-OCR
    assert claimed is not None
    assert ev.runner.run_once() is False  # its lease still holds
    ev.clock.now += timedelta(seconds=ev.settings.ocr.lease_seconds + 1)
    assert ev.runner.run_once() is True
    assert [m.card is not None for m in ev.chat.new_messages()] == [True]
    # The "dead" runner wakes up (a paused VM) and finishes: it writes nothing.
    dead._complete(claimed, "另一个结果")
    dead._record_failure(claimed, RuntimeError("late"), None)
    assert ev.chat.new_messages() == []
    assert ev.count(FollowUp) == 1 and ev.job().status == OcrStatus.DONE and ev.job().attempts == 2


def test_failures_back_off_end_in_a_reply_and_retry_requeues(ev):
    ev.customer("许志强", "远东物流")
    ev.fail = 3
    ev.runner = ev.make_runner(text="\n".join(CHAT_SHOT))
    ev.send(encode(draw_lines(["stand-in"])))
    ev.runner.drain()
    for _ in range(2):
        assert ev.job().status == OcrStatus.PENDING and ev.runner.drain() == 0
        ev.clock.now += timedelta(minutes=5)
        ev.runner.drain()
    job = ev.job()
    assert job.status == OcrStatus.FAILED and job.attempts == 3 and "onnx crashed" in job.error
    assert [m.text for m in ev.chat.new_messages()] == [FAILED]
    assert "已重新排队 1 条" in ev.chat.reply_to("rep-a", "重试").text
    assert ev.read()[-1].card is not None
    assert ev.count(FollowUp) == 1
