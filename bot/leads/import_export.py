"""Spreadsheets in and out: reading .xlsx/.csv, mapping Chinese headers to lead fields, the
preview, and the supervisor's export (masked phones and e-mails, a watermark row naming who exported
when, formula-looking text neutralised).

Only this module touches openpyxl. CSVs from Excel in China are usually GB18030, not UTF-8, so
both are tried.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from bot.format import mask_contacts, mask_email, mask_phone
from store.models import Customer, Member, Team
from store.permissions import require_manager, visible_to

FIELD_LABELS = {
    "name": "姓名", "phone": "电话", "email": "邮箱", "company": "公司", "title": "职位", "channel": "来源",
    "campaign": "活动", "region": "区域", "industry": "行业", "product": "意向产品", "grade": "等级",
    "owner": "负责人", "landing_url": "落地页", "action": "行为", "note": "备注",
}
HEADER_ALIASES = {
    "name": ("姓名", "客户姓名", "联系人", "联系人姓名", "客户", "名字", "name"),
    "phone": ("电话", "手机", "手机号", "手机号码", "联系电话", "电话号码", "phone", "mobile", "tel"),
    "email": ("邮箱", "电子邮箱", "邮件", "email", "e-mail"),
    "company": ("公司", "公司名称", "单位", "企业", "企业名称", "客户公司", "company"),
    "title": ("职位", "职务", "title"),
    "channel": ("来源", "渠道", "来源渠道", "线索来源", "首次来源", "channel", "source", "utm_source"),
    "campaign": ("活动", "推广活动", "campaign", "utm_campaign"),
    "region": ("区域", "地区", "大区", "region"),
    "industry": ("行业", "industry"),
    "product": ("产品", "意向产品", "product"),
    "grade": ("等级", "客户等级", "级别", "grade"),
    "owner": ("负责人", "销售", "归属销售", "跟进人", "owner"),
    "landing_url": ("落地页", "链接", "landing_url", "url"),
    "action": ("行为", "动作", "action"),
    "note": ("备注", "note", "说明"),
}
HEADER_SCAN_ROWS = 10  # the header may sit under a title or watermark row (our own export has one)


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace(" ", "").strip().lower()


_ALIAS_INDEX = {_norm(alias): name for name, aliases in HEADER_ALIASES.items() for alias in aliases}
_LABEL_INDEX = {**{_norm(label): name for name, label in FIELD_LABELS.items()}, **{n: n for n in FIELD_LABELS}}


class TableError(Exception):
    """The file cannot be imported as it is (Chinese message for the person running the import)."""


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone typed into Excel: 13912345678.0
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def read_table(path: Path, sheet: str | None = None) -> list[list[str]]:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except (OSError, ValueError, KeyError) as exc:
            raise TableError(f"无法打开 {path.name}：{exc}") from None
        try:
            if sheet is not None and sheet not in book.sheetnames:
                raise TableError(f"没有工作表「{sheet}」，可选：{'、'.join(book.sheetnames)}")
            ws = book[sheet] if sheet else book.worksheets[0]
            return [[cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
        finally:
            book.close()
    if suffix == ".csv":
        raw = path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:  # gb18030 decodes any byte string; kept for clarity
            raise TableError("无法识别 CSV 的编码（请另存为 UTF-8）")
        return [[cell_text(v) for v in row] for row in csv.reader(io.StringIO(text, newline=""))]
    raise TableError(f"只支持 .xlsx 和 .csv 文件，收到 {path.suffix or '无扩展名'}")


@dataclass
class Mapping:
    header_row: int  # 0-based index in the table
    headers: list[str]
    columns: dict[int, str]  # column index -> field
    ignored: list[str]

    def field_column(self, field: str) -> int | None:
        return next((i for i, f in self.columns.items() if f == field), None)

    def row_values(self, row: list[str]) -> dict[str, str]:
        return {f: row[i] for i, f in self.columns.items() if i < len(row) and row[i]}


def parse_overrides(pairs: Iterable[str]) -> dict[str, str]:
    """--map 表头=字段 (字段 in English or Chinese: name/姓名); 字段 "-" ignores the column."""
    out: dict[str, str] = {}
    for pair in pairs:
        header, sep, target = pair.partition("=")
        field = "-" if target.strip() == "-" else _LABEL_INDEX.get(_norm(target))
        if not sep or not header.strip() or field is None:
            known = "、".join(f"{label}({name})" for name, label in FIELD_LABELS.items())
            raise TableError(f"无法理解 --map {pair}：应写成 表头=字段，字段可选 {known}，或 - 表示忽略")
        out[_norm(header)] = field
    return out


def detect_mapping(table: list[list[str]], overrides: dict[str, str] | None = None) -> Mapping:
    overrides = overrides or {}
    for index, row in enumerate(table[:HEADER_SCAN_ROWS]):
        columns: dict[int, str] = {}
        ignored: list[str] = []
        for col_index, header in enumerate(row):
            key = _norm(header)
            field = overrides.get(key, _ALIAS_INDEX.get(key)) if key else None
            if field and field != "-" and field not in columns.values():
                columns[col_index] = field
            elif header:
                ignored.append(header)
        if len(columns) >= 2:
            return Mapping(index, row, columns, ignored)
    raise TableError("前 10 行里找不到表头（至少要认出两列，如 姓名、电话）；可用 --map 表头=字段 指定")


def preview_lines(mapping: Mapping, rows: list[list[str]], *, total: int, default_channel: str | None,
                  limit: int = 5) -> list[str]:
    lines = ["列对应："]
    lines += [f"  {mapping.headers[i]} → {FIELD_LABELS[f]}（{f}）" for i, f in sorted(mapping.columns.items())]
    lines += [f"  {h} → （忽略）" for h in mapping.ignored]
    if mapping.field_column("channel") is None:
        lines.append(f"  没有来源列：全部按「{default_channel}」" if default_channel else "  没有来源列")
    lines.append(f"共 {total} 行数据，前 {min(limit, len(rows))} 行：")
    for n, row in enumerate(rows[:limit], 1):
        values = mapping.row_values(row)
        lines.append(f"  {n}. " + "  ".join(f"{FIELD_LABELS[f]}={v}" for f, v in values.items()))
    return lines


# ---------------------------------------------------------------- export

EXPORT_HEADERS = ["编号", "姓名", "公司", "职位", "电话", "邮箱", "负责人", "阶段", "金额（元）", "下次联系",
                  "首次来源", "最新来源", "区域", "行业", "意向产品", "等级", "最后跟进", "创建时间"]
# A spreadsheet program runs a cell starting with one of these as a formula (=HYPERLINK(...) from a
# lead's name, or -2+3+cmd|...): OWASP CSV injection guidance is to start such a value with a quote.
# https://owasp.org/www-community/attacks/CSV_Injection
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value: Any) -> Any:
    """A CSV text cell that would start a formula, prefixed with ' so it stays text; numbers untouched
    (xlsx marks such cells with the quotePrefix style instead)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def watermark(actor: Member, team: str, now: datetime, tz: tzinfo, unmask: bool) -> str:
    phones = "含完整手机号，请妥善保管" if unmask else "手机号已脱敏"
    return (f"导出人：{actor.display_name}（{team}） 导出时间：{now.astimezone(tz):%Y-%m-%d %H:%M} "
            f"{phones} 仅限内部使用，请勿外传")


def export_rows(*, session: Session, actor: Member, tz: tzinfo, unmask: bool) -> Iterator[list[Any]]:
    """The actor's customers (a supervisor: the team's), merged ones and unconfirmed drafts (a paste
    nobody has confirmed yet) left out. Masked (the default): phones and e-mails masked in every
    column, names and notes included. 金额 is the customer's amount as the console and the pre-visit
    card show it (customer.amount_cny, kept by store/customers.sync_amount: the current catalog quote's
    total, else the newest confirmed record's amount)."""
    require_manager(actor)
    names = {m.id: m.display_name for m in session.exec(select(Member)).all()}
    stmt = (select(Customer).where(visible_to(actor), col(Customer.merged_into_id).is_(None),
                                   col(Customer.draft).is_(False))
            .order_by(col(Customer.id)).execution_options(yield_per=1000))
    for c in session.exec(stmt):
        def when(dt: datetime | None) -> str:
            return dt.astimezone(tz).strftime("%Y-%m-%d %H:%M") if dt else ""

        def text(value: str | None) -> str:  # free text a person typed: may hold a phone or e-mail
            return (value or "") if unmask else mask_contacts(value or "")

        phone = (c.phone or "") if unmask else (mask_phone(c.phone) if c.phone else "")
        email = (c.email or "") if unmask else (mask_email(c.email) if c.email else "")
        yield [c.id, text(c.name), text(c.company), text(c.title), phone, email,
               names.get(c.owner_id, "公海") if c.owner_id else "公海", c.stage, c.amount_cny,
               when(c.next_contact_at), c.source_channel or "", c.latest_channel or "", text(c.region),
               text(c.industry), text(c.product), text(c.grade), when(c.last_activity_at), when(c.created_at)]


def export_customers(*, session: Session, actor: Member, path: Path, now: datetime, tz: tzinfo,
                     unmask: bool = False) -> int:
    team = session.get(Team, actor.team_id)
    mark = watermark(actor, team.name if team else "", now, tz, unmask)
    rows = export_rows(session=session, actor=actor, tz=tz, unmask=unmask)
    count = 0
    if path.suffix.lower() == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow([mark])
            writer.writerow(EXPORT_HEADERS)
            for row in rows:
                writer.writerow([neutralise_formula(v) for v in row])
                count += 1
        return count
    if path.suffix.lower() != ".xlsx":
        raise TableError("只能导出为 .xlsx 或 .csv")
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    book.properties.creator = f"genjin · {actor.display_name}"
    ws = book.create_sheet("客户")

    def cells(values: list[Any]) -> list[Any]:
        out = []
        for value in values:
            cell = WriteOnlyCell(ws, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # text is stored as text, never as a formula, whatever it starts with
                # Excel's own "text that looks like a formula" flag (the cell shows +86139… as typed, and
                # stays text when someone edits it) instead of a visible ' in front of every phone.
                cell.quotePrefix = value.startswith(FORMULA_STARTS)
            out.append(cell)
        return out

    ws.append(cells([mark]))
    ws.append(cells(EXPORT_HEADERS))
    for row in rows:
        ws.append(cells(row))
        count += 1
    book.save(path)
    return count
