"""`genjin catalog import catalog.xlsx|csv`: read, check every row, preview, then write.

Reading reuses the lead import's table reader (bot/leads/import_export.py: .xlsx, UTF-8 or GB18030
CSV). A row with a problem is left out and listed, with its reasons in Chinese, in an error file the
admin fixes and imports again; the good rows go in. Importing the same file twice changes nothing
(products are keyed by name and edition; an unchanged row is reported as such).
"""

from __future__ import annotations

import csv
import re
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlmodel import Session

from bot.config import CATALOG_UNITS
from bot.extract import parse_amount
from bot.leads.import_export import TableError, read_table
from store.catalog import upsert_product

COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("产品", "产品名称", "名称", "商品", "商品名称", "name", "product"),
    "edition": ("版本", "版别", "规格", "edition", "version"),
    "price": ("单价", "价格", "单价（元）", "单价(元)", "售价", "标准价", "price", "unit_price"),
    "unit": ("单位", "计价单位", "unit"),
    "aliases": ("别名", "简称", "叫法", "aliases", "alias"),
}
REQUIRED = ("name", "price", "unit")
LABELS = {"name": "产品", "edition": "版本", "price": "单价", "unit": "单位", "aliases": "别名"}
_ALIAS_SPLIT = re.compile(r"[、,，;；/|｜\s]+")
_UNIT_NOISE = re.compile(r"^(?:元)?\s*[/每]?\s*|^per\s*", re.I)


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace(" ", "").strip().lower()


_INDEX = {_norm(alias): name for name, aliases in COLUMNS.items() for alias in aliases}


@dataclass(frozen=True)
class ProductRow:
    line: int
    name: str
    edition: str
    unit_price_cny: int
    unit: str
    aliases: list[str]


@dataclass
class BadRow:
    line: int
    reasons: list[str]
    row: list[str]


@dataclass
class CatalogReport:
    rows: list[ProductRow] = field(default_factory=list)
    errors: list[BadRow] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def read_catalog(path: Path, sheet: str | None = None) -> CatalogReport:
    """Every row checked; raises TableError when the file as a whole cannot be used."""
    if not path.is_file():
        raise TableError(f"找不到文件 {path.name}")
    try:
        table = read_table(path, sheet)
    except (zipfile.BadZipFile, OSError) as exc:
        raise TableError(f"无法打开 {path.name}：不是有效的 .xlsx 文件（{type(exc).__name__}）") from None
    except UnicodeError:
        raise TableError(f"无法读取 {path.name} 的文字编码（请另存为 UTF-8 的 CSV）") from None
    rows = [r for r in table if any(c.strip() for c in r)]
    if not rows:
        raise TableError(f"{path.name} 是空的：第一行应为表头（产品、版本、单价、单位、别名），下面每行一个产品")
    header = rows[0]
    columns: dict[str, int] = {}
    for index, text in enumerate(header):
        column = _INDEX.get(_norm(text))
        if column and column not in columns:
            columns[column] = index
    missing = [LABELS[c] for c in REQUIRED if c not in columns]
    if missing:
        raise TableError(f"缺少必需的列：{'、'.join(missing)}（第一行是表头，如：产品、版本、单价、单位、别名）")
    body = rows[1:]
    if not body:
        raise TableError(f"{path.name} 只有表头，没有产品行")
    report = CatalogReport(headers=header)
    seen: dict[tuple[str, str], int] = {}
    for offset, row in enumerate(body):
        line = _line_of(table, offset)
        parsed, reasons = _check(row, columns)
        key = (_cell(row, columns, "name"), _cell(row, columns, "edition"))
        if key[0] and key in seen:
            reasons.append(f"与第 {seen[key]} 行重复（同一产品和版本）")
            parsed = None
        elif key[0]:
            seen[key] = line
        if reasons or parsed is None:
            report.errors.append(BadRow(line, reasons, row))
            continue
        report.rows.append(ProductRow(line, *parsed))
    return report


def _line_of(table: list[list[str]], offset: int) -> int:
    """The spreadsheet's own row number of the offset-th data row (blank rows count in Excel)."""
    target = offset + 1  # rows[0] is the header
    seen = -1
    for number, row in enumerate(table, 1):
        if any(c.strip() for c in row):
            seen += 1
            if seen == target:
                return number
    return target + 1


def _cell(row: Sequence[str], columns: dict[str, int], key: str) -> str:
    index = columns.get(key)
    return row[index].strip() if index is not None and index < len(row) else ""


_Parsed = tuple[str, str, int, str, list[str]]


def _check(row: Sequence[str], columns: dict[str, int]) -> tuple[_Parsed | None, list[str]]:
    reasons: list[str] = []
    name, edition = _cell(row, columns, "name"), _cell(row, columns, "edition")
    price_text, unit_text = _cell(row, columns, "price"), _cell(row, columns, "unit")
    if not name:
        reasons.append("缺少产品名称")
    elif len(name) > 100:
        reasons.append("产品名称太长（100 字以内）")
    if len(edition) > 50:
        reasons.append("版本太长（50 字以内）")
    price = parse_amount(price_text) if price_text else None
    if not price_text:
        reasons.append("缺少单价")
    elif price is None or re.search(r"^-|负", price_text):
        reasons.append(f"单价「{price_text[:20]}」不是有效金额（应为大于 0 的元数，如 39800 或 3.98万）")
        price = None
    unit = _UNIT_NOISE.sub("", unit_text)
    if not unit_text:
        reasons.append("缺少单位")
    elif unit not in CATALOG_UNITS:
        reasons.append(f"单位「{unit_text[:10]}」不认识，应为 {'/'.join(CATALOG_UNITS)}")
    aliases = [a for a in _ALIAS_SPLIT.split(_cell(row, columns, "aliases")) if a]
    if any(len(a) > 50 for a in aliases):
        reasons.append("别名太长（每个 50 字以内）")
    if reasons or price is None:
        return None, reasons
    return (name, edition, price, unit, aliases), reasons


def preview(report: CatalogReport, limit: int = 5) -> list[str]:
    lines = [f"共 {len(report.rows) + len(report.errors)} 行：可导入 {len(report.rows)}，有问题 {len(report.errors)}"]
    for row in report.rows[:limit]:
        label = f"{row.name} {row.edition}".strip()
        alias = f"（别名：{'、'.join(row.aliases)}）" if row.aliases else ""
        lines.append(f"  第 {row.line} 行：{label}  {row.unit_price_cny:,} 元/{row.unit}{alias}")
    return lines


def write_products(*, session: Session, report: CatalogReport, at: datetime) -> CatalogReport:
    for row in report.rows:
        outcome = upsert_product(session=session, name=row.name, edition=row.edition,
                                 unit_price_cny=row.unit_price_cny, unit=row.unit, aliases=row.aliases,
                                 source="import", at=at)
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report


def write_error_file(path: Path, report: CatalogReport) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:  # utf-8-sig: Excel opens it as UTF-8
        writer = csv.writer(fh)
        writer.writerow(["行号", "原因", *report.headers])
        for bad in report.errors:
            writer.writerow([bad.line, "；".join(bad.reasons), *bad.row])
