"""Statement files (WeChat Pay, Alipay merchant exports, a bank CSV) matched to receipts.

Pure functions, no database: `parse_statement` turns a file into income lines; `match_lines`
pairs lines with receipts by reference, then by amount and date.

The exports differ in layout and change over time, so columns are found by their header names
(a few known names per field), not by position. WeChat Pay prefixes each cell with a backtick
so spreadsheets keep long numbers; Alipay puts comment lines starting with "#" around the table;
both may be GB18030 rather than UTF-8. Rows that are not income (refunds, expenses, summaries)
are counted as skipped, never guessed at.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

LAYOUTS = ("wechat", "alipay", "bank")
# Which receipts a statement can pay in: a WeChat statement holds WeChat payments, and so on.
METHODS = {"wechat": ("wechat",), "alipay": ("alipay",), "bank": ("bank_transfer", "card")}
MAX_BYTES = 5_000_000
MAX_LINES = 20_000
# Money shows on a statement on the day it was paid or a few days later, never before.
SETTLE_DAYS = 3

_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "wechat": {
        "when": ("交易时间",),
        "amount": ("订单金额", "应结订单金额", "金额(元)"),
        "reference": ("商户订单号", "商户单号"),
        "reference2": ("微信订单号", "交易单号"),
        "payer": ("用户标识", "交易对方"),
        "status": ("交易状态", "当前状态"),
        "memo": ("商品名称", "商户数据包", "备注"),
    },
    "alipay": {
        "when": ("完成时间", "付款时间", "交易时间", "创建时间", "入账时间"),
        "amount": ("商家实收（元）", "订单金额（元）", "收入金额（+元）", "金额（元）"),
        "reference": ("商户订单号", "商家订单号"),
        "reference2": ("支付宝交易号", "交易号", "交易订单号"),
        "payer": ("对方账户", "交易对方", "对方名称"),
        "status": ("交易状态", "收/支"),
        "memo": ("备注", "商品名称", "商品说明"),
    },
    "bank": {
        "when": ("交易日期", "日期", "记账日期", "date", "Date"),
        "amount": ("收入金额", "贷方金额", "金额", "amount", "Amount"),
        "reference": ("摘要", "附言", "用途", "reference", "Reference"),
        "reference2": ("流水号", "交易流水号", "transaction_id"),
        "payer": ("对方户名", "付款人", "对方账户名称", "payer", "Payer"),
        "status": (),
        "memo": ("备注", "memo", "Memo"),
    },
}
# Status values that mean "not money received" (a refund, an expense, a closed order).
_NOT_INCOME = ("REFUND", "退款", "支出", "已关闭", "CLOSED", "REVOKED")


class StatementError(ValueError):
    """The file cannot be read as a statement of that layout: `key` says why (a catalogue key,
    with `params` for its placeholders), so the server can say it in the reader's language.
    """

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class StatementLine:
    """One income line of a statement."""

    line_no: int
    day: date
    amount_fen: int
    reference: str
    payer: str
    text: str  # every reference-like cell joined, searched for receipt numbers


@dataclass(frozen=True)
class ParsedStatement:
    lines: list[StatementLine]
    skipped: int


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise StatementError("err.statement.encoding")


def _clean(cell: str) -> str:
    return cell.strip().lstrip("`").strip()


def _fen(text: str) -> int | None:
    text = text.replace(",", "").replace("¥", "").replace("￥", "").strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    fen = value * 100
    if fen != fen.to_integral_value():
        return None
    return int(fen)


def _day(text: str) -> date | None:
    text = text.strip().replace("/", "-").replace(".", "-")
    for length, fmt in ((19, "%Y-%m-%d %H:%M:%S"), (16, "%Y-%m-%d %H:%M"), (10, "%Y-%m-%d")):
        try:
            return datetime.strptime(text[:length], fmt).date()
        except ValueError:
            continue
    if len(text) >= 8 and text[:8].isdigit():  # 20261130 as banks often write it
        try:
            return datetime.strptime(text[:8], "%Y%m%d").date()
        except ValueError:
            return None
    return None


def _find(header: list[str], names: tuple[str, ...]) -> int | None:
    for name in names:
        if name in header:
            return header.index(name)
    return None


def parse_statement(data: bytes, layout: str) -> ParsedStatement:
    """Read a statement file of `layout` into income lines (amounts in fen, days as written)."""
    if layout not in LAYOUTS:
        raise StatementError("err.statement.layout", layout=layout)
    if len(data) > MAX_BYTES:
        raise StatementError("err.statement.too_large", mb=MAX_BYTES // 1_000_000)
    spec = _COLUMNS[layout]
    rows = list(csv.reader(io.StringIO(_decode(data))))
    header_at = None
    for i, row in enumerate(rows[:50]):
        cells = [_clean(c) for c in row]
        if _find(cells, spec["when"]) is not None and _find(cells, spec["amount"]) is not None:
            header_at, header = i, cells
            break
    if header_at is None:
        raise StatementError("err.statement.no_header")
    col = {name: _find(header, names) for name, names in spec.items()}
    lines: list[StatementLine] = []
    skipped = 0
    for i, row in enumerate(rows[header_at + 1 :], start=header_at + 2):
        if not row or not any(c.strip() for c in row) or row[0].lstrip().startswith("#"):
            continue
        cells = [_clean(c) for c in row]

        def cell(name: str, cells: list[str] = cells) -> str:
            index = col.get(name)
            return cells[index] if index is not None and index < len(cells) else ""

        day, fen = _day(cell("when")), _fen(cell("amount"))
        status = cell("status")
        if day is None or fen is None or fen <= 0 or any(s in status for s in _NOT_INCOME):
            skipped += 1
            continue
        if len(lines) >= MAX_LINES:
            raise StatementError("err.statement.too_many_lines", max_lines=MAX_LINES)
        reference = cell("reference") or cell("reference2")
        text = " ".join(v for v in (cell("reference"), cell("reference2"), cell("memo")) if v)
        lines.append(StatementLine(i, day, fen, reference[:100], cell("payer")[:120], text[:500]))
    return ParsedStatement(lines, skipped)


@dataclass(frozen=True)
class Receipt:
    """What matching needs of a payment."""

    id: str
    receipt_no: str
    day: date
    amount_fen: int


def match_lines(lines: list[StatementLine], receipts: list[Receipt]) -> dict[int, str]:
    """Pair statement lines (by line_no) with receipts (by id): each at most once.

    First a line whose reference names a receipt number, for the same amount; then a line and a
    receipt that are each other's only candidate by amount, with the receipt dated on the line's
    day or up to `SETTLE_DAYS` before it. Anything ambiguous is left for a person.
    """
    taken: set[str] = set()
    out: dict[int, str] = {}
    by_no = {r.receipt_no: r for r in receipts}
    for line in lines:
        for token in line.text.replace(",", " ").split():
            r = by_no.get(token)
            if r is not None and r.id not in taken and r.amount_fen == line.amount_fen:
                out[line.line_no] = r.id
                taken.add(r.id)
                break

    def fits(line: StatementLine, r: Receipt) -> bool:
        return (
            r.amount_fen == line.amount_fen
            and line.day - timedelta(days=SETTLE_DAYS) <= r.day <= line.day
        )

    open_lines = [line for line in lines if line.line_no not in out]
    open_receipts = [r for r in receipts if r.id not in taken]
    for line in open_lines:
        candidates = [r for r in open_receipts if r.id not in taken and fits(line, r)]
        if len(candidates) != 1:
            continue
        r = candidates[0]
        rivals = [other for other in open_lines if other.line_no not in out and fits(other, r)]
        if len(rivals) == 1:
            out[line.line_no] = r.id
            taken.add(r.id)
    return out
