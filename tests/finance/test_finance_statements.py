"""Non-cash money matched to the statement: WeChat Pay, Alipay and bank CSV files (issue 10)."""

from __future__ import annotations

import io
import re

from sqlalchemy import select

from server.db_types import utcnow
from server.domain.statements import parse_statement
from server.domain.timezone import business_day
from server.extensions import db
from server.finance.models import FinanceAudit
from tests.finance.sync_phone import Phone

WECHAT_HEADER = (
    "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,"
    "交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,"
    "充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
)


def _wechat_row(day: str, time: str, order: str, status: str, yuan: str) -> str:
    cells = [
        f"{day} {time}", "wx5f0", "1900000001", "0", "", f"42000{time[:2]}", order, "oUser",
        "NATIVE", status, "OTHERS", "CNY", yuan, "0.00", "0", "0", "0.00", "0.00", "", "",
        "维修费", "", "0.12", "0.60%", yuan, "0.00", "",
    ]  # fmt: skip
    return ",".join("`" + c for c in cells)


def _upload(session, layout: str, content: bytes, name: str = "bill.csv"):
    return session.client.post(
        "/api/finance/statements",
        data={"layout": layout, "file": (io.BytesIO(content), name)},
        headers={"X-CSRFToken": session.csrf},
        content_type="multipart/form-data",
    )


def test_a_wechat_statement_is_matched_by_reference_and_the_rest_is_left_for_a_clerk(
    make, login, signed_device
):
    finance = login(make.user("finance"))
    engineer = make.user("engineer")
    phone = Phone(signed_device(engineer))
    visit = make.visit(engineer=engineer, onsite_fee_fen=39100)
    phone.arrive(visit.id)
    first = phone.pay(visit.id, 39100, "wechat")
    second = phone.pay(visit.id, 20000, "wechat")
    third = phone.pay(visit.id, 20000, "wechat")
    phone.pay(visit.id, 5000, "alipay")
    phone.push()
    no = [p["payload"]["receipt_no"] for p in (first, second, third)]
    today = business_day(utcnow()).isoformat()
    text = "\n".join(
        [
            "微信支付交易账单",
            WECHAT_HEADER,
            _wechat_row(today, "10:15:02", no[0], "SUCCESS", "391.00"),
            _wechat_row(today, "11:00:00", "", "SUCCESS", "200.00"),
            _wechat_row(today, "12:00:00", "", "SUCCESS", "88.00"),
            _wechat_row(today, "13:00:00", no[0], "REFUND", "391.00"),
            _wechat_row(today, "14:00:00", "", "SUCCESS", "200.00"),
            "总交易单数,应结订单总金额,退款总金额",
            "`4,`879.00,`391.00",
        ]
    )
    response = _upload(finance, "wechat", text.encode("utf-8"))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    lines = body["lines"]
    assert [(e["amount_fen"], e["state"], e["receipt_no"]) for e in lines] == [
        (39100, "suggested", no[0]),
        (20000, "unmatched", None),  # two receipts of 200.00: a person decides
        (8800, "unmatched", None),
        (20000, "unmatched", None),
    ]
    assert body["statement"]["skipped"] == 3  # the refund and the two summary rows
    assert sorted(r["receipt_no"] for r in body["unmatched_receipts"]) == no[1:]

    decide = lambda entry, **b: finance.post(f"/api/finance/statement-lines/{entry}", json=b)  # noqa: E731
    assert decide(lines[0]["id"], action="confirm").get_json()["state"] == "confirmed"
    assigned = decide(lines[1]["id"], action="assign", payment_id=second["record_id"])
    assert assigned.status_code == 200 and assigned.get_json()["receipt_no"] == no[1]
    wrong = decide(lines[2]["id"], action="assign", payment_id=third["record_id"])
    assert wrong.status_code == 422 and "payment_id" in wrong.get_json()["fields"]
    twice = decide(lines[3]["id"], action="assign", payment_id=second["record_id"])
    assert twice.status_code == 409 and twice.get_json()["error"] == "conflict"
    assert decide(lines[3]["id"], action="assign", payment_id=third["record_id"]).status_code == 200
    view = finance.get(f"/api/finance/statements/{body['statement']['id']}").get_json()
    assert view["unmatched_lines"] == [lines[2]["id"]] and view["unmatched_receipts"] == []
    undone = decide(lines[3]["id"], action="unmatch").get_json()
    assert (undone["state"], undone["payment_id"]) == ("unmatched", None)
    db.session.expire_all()
    actions = db.session.scalars(
        select(FinanceAudit.action).where(FinanceAudit.subject.startswith("statement:"))
    ).all()
    assert actions == [
        "statement.import",
        "statement.confirm",
        "statement.assign",
        "statement.assign",
        "statement.unmatch",
    ]


def test_alipay_and_bank_layouts_are_read_by_their_headers():
    alipay = "\n".join(
        [
            "#支付宝业务明细查询",
            "#账号:[20880000000000000156]",
            "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,"
            "终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,"
            "商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,"
            "退款批次号/请求号,服务费（元）,分润（元）,备注",
            "2026113022001,R-ABCD-000007,交易,维修费,2026-11-30 09:00:00,2026-11-30 09:00:05,,,,,"
            "zhou***@163.com,50.00,50.00,0.00,0.00,0.00,0.00,0.00,,0.00,0.00,,0.30,0.00,",
            "#-----------------------------------------业务明细列表结束",
        ]
    ).encode("gb18030")
    [line] = parse_statement(alipay, "alipay").lines
    assert (line.amount_fen, line.reference, line.payer) == (
        5000,
        "R-ABCD-000007",
        "zhou***@163.com",
    )
    bank = "date,amount,reference,payer\n2026-11-30,1234.5,INV R-ABCD-000009 repair,Acme Ltd\n"
    [line] = parse_statement(bank.encode(), "bank").lines
    assert (line.amount_fen, line.payer) == (123450, "Acme Ltd")
    assert "R-ABCD-000009" in line.text


def test_a_file_that_is_not_a_statement_is_refused_naming_the_field(make, login):
    finance = login(make.user("finance"))
    response = _upload(finance, "bank", b"hello,world\n1,2\n")
    assert response.status_code == 422 and "file" in response.get_json()["fields"]
    response = _upload(finance, "paypal", b"x")
    assert response.status_code == 422 and "layout" in response.get_json()["fields"]


def test_a_clerk_imports_and_assigns_on_the_pages(make, login, signed_device):
    finance = login(make.user("finance"))
    engineer = make.user("engineer")
    phone = Phone(signed_device(engineer))
    visit = make.visit(engineer=engineer, onsite_fee_fen=12000)
    phone.arrive(visit.id)
    phone.pay(visit.id, 12000, "bank_transfer")
    phone.pay(visit.id, 12000, "bank_transfer")
    phone.push()
    today = business_day(utcnow()).isoformat()
    bank = f"日期,金额,摘要,对方户名\n{today},120.00,维修费,某某公司\n{today},7.00,利息,\n"
    page = finance.client.get("/finance/statements?lang=en").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = finance.client.post(
        "/finance/statements?lang=en",
        data={"csrf_token": token, "layout": "bank", "file": (io.BytesIO(bank.encode()), "b.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    page = finance.client.get(response.headers["Location"] + "?lang=en").get_data(as_text=True)
    assert "2 income lines, 2 not matched to a receipt" in page
    assert page.count('data-state="unmatched"') == 2
    assert len(re.findall(r'<tr data-receipt="', page)) == 2  # two receipts of 120.00 wait
    line = re.search(
        r'<tr data-line="(\d+)" data-state="unmatched"><td>[^<]+</td><td class="num">¥120', page
    )
    option = re.search(r'<option value="([^"]+)">R-', page).group(1)
    done = finance.client.post(
        f"/finance/statement-lines/{line.group(1)}",
        data={"csrf_token": token, "action": "assign", "payment_id": option},
    )
    assert done.status_code == 302
    page = finance.client.get(done.headers["Location"] + "?lang=en").get_data(as_text=True)
    assert page.count('data-state="confirmed"') == 1
    assert len(re.findall(r'<tr data-receipt="', page)) == 1
