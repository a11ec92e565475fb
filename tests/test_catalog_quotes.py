"""Amounts from the product catalog: products and quantities found in new wording, the card's quote
lines with a disagreeing spoken amount kept visible, lines changed by reply and tap, the customer's
amount from the current quote, the weekly catalog share, and `genjin catalog import`'s bad input."""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from bot.app import build_runtime
from bot.catalog.entries import catalog_entries
from bot.catalog.importer import read_catalog
from bot.cli import main
from bot.config import CatalogItem, CatalogSettings, Settings
from bot.extract.products import CatalogEntry, find_product_lines
from bot.leads.import_export import TableError
from scheduler.previsit import sweep_previsit
from scheduler.weekly import rep_stats
from store.catalog import list_products, upsert_product
from store.db import make_engine, session_scope
from store.models import Correction, Customer, FollowUp, Member, QuoteLine
from store.quotes import customer_amount
from tests.factories import make_org
from tests.harness import ChatDriver

CATALOG = [
    CatalogEntry(1, "云仓", "旗舰版", 58000, "年", ("旗舰版年费",)),
    CatalogEntry(2, "云仓", "基础版", 26000, "年", ()),
    CatalogEntry(3, "条码打印模块", "", 8800, "套", ("打印模块",)),
    CatalogEntry(4, "驻场培训", "", 4500, "次", ("上门培训",)),
    CatalogEntry(5, "手持终端授权", "", 900, "人", ("PDA授权", "终端授权")),
    CatalogEntry(6, "运输调度中心模块", "", 36000, "套", ()),
]


def lines_of(text: str) -> list[tuple[str, int]]:
    return [(line.entry.label, line.quantity) for line in find_product_lines(text, CATALOG)]


@pytest.mark.parametrize(("text", "expected"), [
    ("老板拍板了，旗舰版先来三套", [("云仓 旗舰版", 3)]),
    ("对方打算一口气签五年基础版", [("云仓 基础版", 5)]),
    ("打印模块顺便要一个", [("条码打印模块", 1)]),
    ("仓库那边要二十个PDA授权，另外上门培训两次", [("手持终端授权", 20), ("驻场培训", 2)]),
    ("旗舰版 x4，基础版就不考虑了", [("云仓 旗舰版", 4), ("云仓 基础版", 1)]),
    ("旗舰版两套签三年", [("云仓 旗舰版", 6)]),
    ("运输调渡中心模块也想了解", [("运输调度中心模块", 1)]),  # one character misheard
    ("2028年再考虑旗舰版", [("云仓 旗舰版", 1)]),  # a year is a date, not a quantity
    ("基础版和打印模块各要点信息，打印模块要十二套", [("云仓 基础版", 1), ("条码打印模块", 12)]),
    ("今天聊了聊云仓的事", []),  # the name alone is two editions: nothing is guessed
    ("客户说模式还要再想想", []),
])
def test_products_and_quantities_in_new_wording(text, expected):
    assert lines_of(text) == expected


def test_quantity_of_one_product_is_not_read_as_the_neighbours():
    assert lines_of("基础版和终端授权三十个") == [("云仓 基础版", 1), ("手持终端授权", 30)]


# ---------------------------------------------------------------- the card

TOML_CATALOG = CatalogSettings(products=[
    CatalogItem(name="云仓", edition="旗舰版", unit_price=58000, unit="年", aliases=["旗舰版年费"]),
    CatalogItem(name="条码打印模块", unit_price=8800, unit="套", aliases=["打印模块"]),
])


@pytest.fixture
def bot(settings: Settings, engine, clock):
    runtime = build_runtime(settings.model_copy(update={"catalog": TOML_CATALOG}), clock=clock, engine=engine)
    driver = ChatDriver(runtime)
    driver.org = make_org(engine)  # type: ignore[attr-defined]
    return driver


def test_card_proposes_catalog_lines_and_keeps_the_spoken_amount_visible(bot, engine):
    card = bot.reply_to("rep-a", "和远航冷链的周总谈了，旗舰版两套，打印模块一套，他说预算大概十万，电话13911112222")
    assert card.field("金额") == "12.48万元"  # 2 x 58,000 + 8,800: the catalog total
    text = card.all_text
    assert "云仓 旗舰版 2年 × 58,000元 = 116,000元" in text and "条码打印模块 1套" in text
    assert "十万" not in text and "10万元 与目录合计 12.48万元 不一致" in text  # visible, not dropped
    with Session(engine) as s:
        followup = s.exec(select(FollowUp)).one()
        assert (followup.amount_cny, followup.spoken_amount_cny) == (124800, 100000)
        assert len(s.exec(select(QuoteLine)).all()) == 2
    # The rep takes the spoken amount with one tap; the lines stay, the other button appears.
    card = bot.send("rep-a", card.action("用 10万元"), kind="card_action")[0]
    assert card.field("金额") == "10万元"
    assert "用目录合计" in [b.label for b in card.card.buttons]
    card = bot.send("rep-a", card.action("用目录合计"), kind="card_action")[0]
    assert card.field("金额") == "12.48万元"


def test_reply_changes_lines_and_the_customer_amount_is_the_current_quote(bot, engine, clock):
    first = bot.reply_to("rep-a", "和远航冷链的周总谈了，旗舰版一套，电话13911112222")
    assert first.field("金额") == "5.8万元"
    card = bot.reply_to("rep-a", "产品 旗舰版 3套 打印模块 2套")
    assert card.field("金额") == "19.16万元"  # 3 x 58,000 + 2 x 8,800
    bot.tap("rep-a", card.action("确认"))
    with Session(engine) as s:
        cid = s.exec(select(Customer.id)).one()
        assert customer_amount(session=s, customer_id=cid) == 3 * 58000 + 2 * 8800
        assert s.exec(select(Correction).where(col(Correction.field) == "quote")).one().after == \
            "云仓 旗舰版×3；条码打印模块×2"
    # A later confirmed record with a new quote is the current quote.
    clock.now += timedelta(days=1)
    second = bot.reply_to("rep-a", "周总那边改成旗舰版一套了，电话13911112222")
    bot.tap("rep-a", second.action("确认"))
    with Session(engine) as s:
        assert customer_amount(session=s, customer_id=cid) == 58000
    # 产品 无 removes the quote of an unconfirmed record; a name not in the catalog is the product text.
    third = bot.reply_to("rep-a", "周总说旗舰版再加一套，电话13911112222")
    assert "🧾" in third.all_text
    assert "🧾" not in bot.reply_to("rep-a", "产品 无").all_text
    assert bot.reply_to("rep-a", "产品 定制开发").field("产品") == "定制开发"


def test_weekly_report_shows_the_share_of_amounts_from_the_catalog(bot, engine, clock):
    for text in ("和远航冷链的周总谈了，旗舰版一套，电话13911112222",
                 "和北辰医药的钱总聊了，报价42000元，电话13922223333"):
        card = bot.reply_to("rep-a", text)
        bot.tap("rep-a", card.action("确认"))
    with Session(engine) as s:
        rep = s.exec(select(Member).where(col(Member.sandbox_id) == "rep-a")).one()
        stats = rep_stats(s, rep, clock.now - timedelta(days=1), clock.now + timedelta(days=1), catalog=True)
        without = rep_stats(s, rep, clock.now - timedelta(days=1), clock.now + timedelta(days=1))
    assert (stats.amount_from_catalog, stats.amount_total) == (58000, 100000)
    assert "目录金额占比 58%" in stats.line()
    assert "目录金额占比" not in without.line()  # a team without a catalog is not told 0%


def test_database_catalog_overrides_and_removes_genjin_toml_products(bot, engine, tmp_path, monkeypatch):
    settings = bot.runtime.settings
    monkeypatch.setenv("GENJIN_DATABASE_URL", settings.database_url.get_secret_value())
    monkeypatch.setenv("GENJIN_CATALOG__PRODUCTS", TOML_CATALOG.model_dump_json(include={"products"})[12:-1])
    assert main(["catalog", "set", "云仓", "--edition", "旗舰版", "--price", "6.2万", "--unit", "年"]) == 0
    assert main(["catalog", "remove", "条码打印模块"]) == 0
    with Session(engine) as s:
        entries = catalog_entries(session=s, settings=settings)
    assert [(e.label, e.unit_price_cny) for e in entries] == [("云仓 旗舰版", 62000)]


# ---------------------------------------------------------------- import

def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = "产品,版本,单价,单位,别名\n云仓,旗舰版,58000,年,旗舰版年费\n条码打印模块,,8800,套,打印模块、标签模块\n"


def test_import_is_idempotent_and_dry_run_writes_nothing(tmp_path, sqlite_url, monkeypatch, capsys):
    monkeypatch.setenv("GENJIN_DATABASE_URL", sqlite_url)
    path = write(tmp_path, "catalog.csv", GOOD)
    assert main(["catalog", "import", str(path), "--dry-run"]) == 0
    assert "可导入 2" in capsys.readouterr().out
    engine = make_engine(sqlite_url)
    with Session(engine) as s:
        assert list_products(session=s) == []
    assert main(["catalog", "import", str(path), "--yes"]) == 0
    assert "新增 2，更新 0，未变 0" in capsys.readouterr().out
    assert main(["catalog", "import", str(path), "--yes"]) == 0
    assert "新增 0，更新 0，未变 2" in capsys.readouterr().out
    with Session(engine) as s:
        products = list_products(session=s)
    assert [(p.name, p.edition, p.unit_price_cny, p.aliases) for p in products] == [
        ("云仓", "旗舰版", 58000, ["旗舰版年费"]), ("条码打印模块", "", 8800, ["打印模块", "标签模块"])]


def test_bad_rows_go_to_the_error_file_with_reasons_and_good_rows_go_in(tmp_path, sqlite_url, monkeypatch, capsys):
    monkeypatch.setenv("GENJIN_DATABASE_URL", sqlite_url)
    path = write(tmp_path, "catalog.csv", "\n".join([
        "产品名称,版本,价格,单位,别名",
        "云仓,旗舰版,58000,年,",
        "云仓,基础版,面议,年,",        # bad price
        "云仓,标准版,-300,年,",         # negative price
        ",专业版,1000,套,",             # no name
        "云仓,旗舰版,60000,年,",         # duplicate name + edition
        "驻场培训,,4500,天,",            # unknown unit
        "手持终端授权,,900,元/人,",       # unit written with its price: accepted
    ]) + "\n")
    assert main(["catalog", "import", str(path), "--yes"]) == 0
    out = capsys.readouterr().out
    assert "可导入 2，有问题 5" in out
    errors = (tmp_path / "catalog.errors.csv").read_text(encoding="utf-8-sig").splitlines()
    assert errors[0].startswith("行号,原因")
    reasons = {int(line.split(",")[0]): line.split(",")[1] for line in errors[1:]}
    assert "单价「面议」不是有效金额" in reasons[3]
    assert "不是有效金额" in reasons[4]
    assert reasons[5] == "缺少产品名称"
    assert reasons[6] == "与第 2 行重复（同一产品和版本）"
    assert "单位「天」不认识" in reasons[7]
    with Session(make_engine(sqlite_url)) as s:
        assert sorted(p.name for p in list_products(session=s)) == ["云仓", "手持终端授权"]


@pytest.mark.parametrize(("name", "content", "message"), [
    ("catalog.csv", "产品,版本,别名\n云仓,旗舰版,\n", "缺少必需的列：单价、单位"),
    ("catalog.csv", "", "是空的"),
    ("catalog.csv", "\n\n", "是空的"),
    ("catalog.csv", "产品,单价,单位\n", "只有表头"),
    ("catalog.txt", "产品,单价,单位\n云仓,1,年\n", "只支持 .xlsx 和 .csv"),
    ("catalog.xlsx", "产品,单价,单位\n云仓,1,年\n", "不是有效的 .xlsx"),  # a CSV renamed
])
def test_whole_file_problems_are_refused_in_chinese(tmp_path, name, content, message):
    with pytest.raises(TableError, match=message):
        read_catalog(write(tmp_path, name, content))


def test_cli_reports_a_bad_file_without_a_traceback(tmp_path, sqlite_url, monkeypatch, capsys):
    monkeypatch.setenv("GENJIN_DATABASE_URL", sqlite_url)
    assert main(["catalog", "import", str(write(tmp_path, "c.xlsx", "junk"))]) == 2
    assert "错误：无法打开 c.xlsx" in capsys.readouterr().err


def test_xlsx_import(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["产品", "版本", "单价（元）", "单位", "简称"])
    sheet.append(["云仓", "旗舰版", 58000, "年", "旗舰版年费"])
    sheet.append(["条码打印模块", None, "8,800", "套", None])
    path = tmp_path / "catalog.xlsx"
    book.save(path)
    report = read_catalog(path)
    assert [(r.name, r.unit_price_cny, r.unit) for r in report.rows] == [
        ("云仓", 58000, "年"), ("条码打印模块", 8800, "套")]
    assert report.errors == []


def test_genjin_toml_catalog_rejects_duplicates_and_unknown_units():
    with pytest.raises(ValueError, match="duplicate products"):
        CatalogSettings(products=[CatalogItem(name="a", unit_price=1, unit="年"),
                                  CatalogItem(name="a", unit_price=2, unit="年")])
    with pytest.raises(ValueError, match="unit must be one of"):
        CatalogItem(name="a", unit_price=1, unit="天")




def test_previsit_card_shows_the_current_quote_over_a_later_typed_amount(bot, engine, clock):
    card = bot.reply_to("rep-a", "和远航冷链的周总谈了，旗舰版两套，电话13911112222")
    bot.tap("rep-a", card.action("确认"))
    bot.reply_to("rep-a", "周总又说预算三十万左右，电话13911112222")  # unconfirmed, no catalog line
    bot.reply_to("rep-a", "拜访 周总 明天下午3点 谈合同")
    sweep_previsit(engine, bot.runtime.settings, clock.now + timedelta(days=1, hours=4, minutes=50))
    [previsit] = [m for m in bot.new_messages() if m.card and m.card.title.startswith("拜访提醒")]
    assert previsit.field("金额") == "11.6万元"


def test_a_product_named_without_its_edition_is_picked_on_the_card(bot, engine, clock):
    with session_scope(engine) as s:
        upsert_product(session=s, name="云仓", edition="基础版", unit_price_cny=26000, unit="年", aliases=[],
                       source="admin", at=clock.now)
    card = bot.reply_to("rep-a", "和远航冷链的周总谈了，云仓先上两套，打印模块一套，电话13911112222")
    assert "「云仓」有2个版本" in card.all_text
    assert card.field("金额") == "8,800元"  # only the module is certain so far
    picked = bot.send("rep-a", card.action("选 云仓 基础版"), kind="card_action")[0]
    assert "云仓 基础版 2年 × 26,000元 = 52,000元" in picked.all_text
    assert picked.field("金额") == "6.08万元"
    assert "有2个版本" not in picked.all_text
    assert not [b for b in picked.card.buttons if b.label.startswith("选 ")]


def test_export_console_and_previsit_card_show_one_amount(bot, engine, clock, tmp_path, monkeypatch):
    """One amount per customer (store/quotes.customer_amount, kept as customer.amount_cny): 周总 has a
    catalog quote and a later confirmed typed budget (the quote counts); 许总 has no catalog line, a
    confirmed 20万 and a newer unconfirmed 30万 (a draft is not the customer's amount yet). The export,
    the console's pipeline and customer page, and the pre-visit card all agree."""
    from bot.format import fmt_amount
    from bot.leads.import_export import export_customers
    from store.console import PipelineFilter, pipeline_grid

    bot.tap("rep-a", bot.reply_to("rep-a", "和远航冷链的周总谈了，旗舰版两套，电话13911112222").action("确认"))
    bot.tap("rep-a", bot.reply_to("rep-a", "周总又说预算三十万左右，电话13911112222").action("确认"))
    bot.tap("rep-a", bot.reply_to("rep-a", "和华信物流的许总聊了，预算二十万，电话13922223333").action("确认"))
    bot.reply_to("rep-a", "许总说预算可能到三十万，电话13922223333")  # not confirmed
    bot.reply_to("rep-a", "拜访 周总 明天下午3点 谈合同")
    bot.reply_to("rep-a", "拜访 许总 明天下午3点半 谈方案")
    expected = {"周总": 116_000, "许总": 200_000}
    with session_scope(engine) as s:
        customers = {c.name: c for c in s.exec(select(Customer).where(col(Customer.draft).is_(False)))}
        assert {n: customer_amount(session=s, customer_id=c.id) for n, c in customers.items()} == expected
        assert {n: c.amount_cny for n, c in customers.items()} == expected  # the console's column
        sup = s.get(Member, bot.org.supervisor.id)
        grid = pipeline_grid(session=s, actor=sup, flt=PipelineFilter())
        assert sum(cell.amount for cell in grid) == sum(expected.values())
        path = tmp_path / "customers.csv"
        export_customers(session=s, actor=sup, path=path, now=clock.now, tz=bot.runtime.settings.tz)
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    header = rows[1]
    exported = {r[header.index("姓名")]: int(r[header.index("金额（元）")]) for r in rows[2:]}
    assert exported == expected
    for minutes in (290, 320):  # before each visit
        sweep_previsit(engine, bot.runtime.settings, clock.now + timedelta(days=1, minutes=minutes))
    cards = {m.field("客户").split("（")[0]: m.field("金额")
             for m in bot.new_messages() if m.card and m.card.title.startswith("拜访提醒")}
    assert cards == {name: fmt_amount(amount) for name, amount in expected.items()}
