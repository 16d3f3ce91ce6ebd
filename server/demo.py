"""Demo data: a small realistic company. Loading it twice changes nothing."""

from __future__ import annotations

from datetime import date, timedelta

from .extensions import db
from .models import Customer, Equipment, RequestStatus, Role, ServerState, User
from .models.types import utcnow
from .services import dispatch, register
from .services.accounts import create_user

DEMO_PASSWORD = "demo"

DEMO_USERS = [
    ("office", "王丽 (客服登记)", Role.OFFICE),
    ("supervisor", "陈建国 (售后主管)", Role.SUPERVISOR),
    ("finance", "刘芳 (财务)", Role.FINANCE),
    ("eng1", "张伟 (工程师)", Role.ENGINEER),
    ("eng2", "李强 (工程师)", Role.ENGINEER),
    ("eng3", "赵敏 (工程师)", Role.ENGINEER),
]

CUSTOMERS = [
    {
        "name": "西安高新区第一中学",
        "contact_person": "周老师",
        "phone": "029-88331234",
        "mobile": "13991234567",
        "email": "it@gx1z.example.cn",
        "address": "陕西省西安市高新区科技路 48 号 信息楼 3 层机房",
        "equipment": [
            ("华为", "S5735-L24T4S 交换机", "HW2203A0017", "GX-2024-017", 730, 36),
            ("海康威视", "DS-7932N-R4 录像机", "HK-DS7932-0092", "GX-2024-017", 730, 36),
        ],
    },
    {
        "name": "陕西秦川物流有限公司",
        "contact_person": "马经理",
        "phone": "029-86541122",
        "mobile": "13709187766",
        "email": "ops@qinchuan-logistics.example.cn",
        "address": "陕西省西安市未央区凤城八路 166 号 仓储中心 B 栋",
        "equipment": [
            ("联想", "ThinkSystem SR650 服务器", "J30A8K2X", "QC-2021-004", 1460, 36),
            ("APC", "SRT6KXLI UPS 电源", "AS2104300155", "QC-2021-004", 1460, 24),
        ],
    },
    {
        "name": "西安市雁塔区人民医院",
        "contact_person": "孙工",
        "phone": "029-85227788",
        "mobile": "18629001234",
        "email": "xxk@ytrmyy.example.cn",
        "address": "陕西省西安市雁塔区小寨东路 12 号 门诊楼 5 层信息科",
        "equipment": [
            ("戴尔", "PowerEdge R750 服务器", "DL-7XK2Q93", "YT-2025-031", 200, 36),
            ("惠普", "LaserJet M706n 打印机", "CNB8K01234", "YT-2025-031", 200, 12),
        ],
    },
]


def load_demo() -> bool:
    """Load the demo company unless it is already there; return whether anything was added."""
    if db.session.get(ServerState, "demo_loaded") is not None:
        return False
    users = {}
    for username, name, role in DEMO_USERS:
        existing = db.session.scalar(db.select(User).where(User.username == username))
        users[username] = existing or create_user(username, DEMO_PASSWORD, role, name, is_demo=True)
    today = date.today()
    equipment: list[Equipment] = []
    customers: list[Customer] = []
    for spec in CUSTOMERS:
        customer = Customer(**{k: v for k, v in spec.items() if k != "equipment"})
        db.session.add(customer)
        customers.append(customer)
        for brand, model, serial, project, days_ago, months in spec["equipment"]:
            item = Equipment(
                customer=customer,
                brand=brand,
                model=model,
                serial_number=serial,
                project_ref=project,
                acceptance_date=today - timedelta(days=days_ago),
                warranty_months=months,
                purchase_proof_on_file=days_ago < 400,
                warranty_card_on_file=days_ago < 400,
            )
            db.session.add(item)
            equipment.append(item)
    db.session.flush()
    now = utcnow()
    office = users["office"]

    def new_request(
        customer, item, problem, symptoms, channel, minutes_ago, severity="normal", urgency="normal"
    ):
        return register.register_request(
            {
                "customer_id": customer.id,
                "equipment_id": item.id if item else None,
                "problem": problem,
                "symptoms": symptoms,
                "channel": channel,
                "severity": severity,
                "urgency": urgency,
                "needs_visit": True,
                "received_at": now - timedelta(minutes=minutes_ago),
            },
            office,
        )

    new_request(
        customers[0],
        equipment[0],
        "教学楼网络全部中断",
        "3 层机房核心交换机指示灯全红,各教室无法上网",
        "hotline",
        25,
        "high",
        "high",
    )
    r2 = new_request(
        customers[1],
        equipment[3],
        "UPS 频繁告警",
        "市电正常时 UPS 每隔十分钟蜂鸣,面板显示电池故障",
        "hotline",
        95,
        "normal",
        "high",
    )
    register.record_phone_response(r2, {"at": r2.received_at + timedelta(minutes=20)})
    dispatch.schedule_visit(
        r2,
        {
            "engineer_id": users["eng1"].id,
            "window_start": now + timedelta(minutes=10),
            "window_end": now + timedelta(minutes=70),
            "onsite_fee_fen": 30000,
        },
    )
    r3 = new_request(
        customers[2],
        equipment[4],
        "打印机卡纸且报 13.B2 错误",
        "门诊收费处打印机每打印数张即卡纸",
        "email",
        150,
    )
    register.record_phone_response(r3, {"at": r3.received_at + timedelta(minutes=40)})
    dispatch.schedule_visit(
        r3,
        {
            "engineer_id": users["eng2"].id,
            "window_start": now - timedelta(minutes=20),
            "window_end": now + timedelta(minutes=40),
            "onsite_fee_fen": 20000,
        },
    )
    r4 = new_request(
        customers[1],
        equipment[2],
        "服务器硬盘告警",
        "RAID 管理界面显示 2 号盘预故障",
        "remote",
        300,
        "high",
        "normal",
    )
    register.record_phone_response(r4, {"at": r4.received_at + timedelta(minutes=30)})
    register.record_remote_consent(r4, {"at": r4.received_at + timedelta(minutes=45)})
    register.record_remote_login(r4, {"at": r4.received_at + timedelta(minutes=70)})
    dispatch.schedule_visit(
        r4,
        {
            "engineer_id": users["eng1"].id,
            "window_start": now + timedelta(hours=3),
            "window_end": now + timedelta(hours=4),
            "onsite_fee_fen": 30000,
        },
    )
    r5 = new_request(
        customers[0],
        equipment[1],
        "定期回访:录像机巡检",
        "季度巡检,检查硬盘与录像完整性",
        "return_visit",
        60 * 24 * 3,
        "low",
        "low",
    )
    register.record_phone_response(r5, {"at": r5.received_at + timedelta(minutes=10)})
    register.record_result(r5, {"result": "巡检完成,设备运行正常", "status": RequestStatus.CLOSED})
    db.session.add(ServerState(key="demo_loaded", value=now.isoformat()))
    db.session.commit()
    load_finance_demo()
    return True


# --- Finance demo: fee schedule, part price list, and two engineers' recent days --------------


def load_finance_demo() -> None:
    """Add the fee schedule, part prices and a few synced-looking visits with money (S2, S3, S23).

    The field records are written as the sync layer stores them, so the reconciliation pages show
    real figures: an open day with cash still in hand, and a day with a short handover and a part
    the phone priced differently from the price list.
    """
    import uuid
    from datetime import UTC, datetime, time

    from .auth import hash_token, new_token
    from .domain.timezone import COMPANY_TZ, business_day
    from .models import Device, FeeRate, PartEvent, PartPrice, Payment, PaymentVoid, Visit
    from .services.finance_handover import record_handover

    users = {u.username: u for u in db.session.scalars(db.select(User))}
    today = business_day(utcnow())
    for day, fen, note in [
        (date(2024, 1, 1), 25000, "2024 年标准"),
        (date(today.year, 1, 1), 30000, f"{today.year} 年起上门服务费调整"),
    ]:
        db.session.add(FeeRate(effective_from=day, onsite_fee_fen=fen, note=note))
    for code, desc, fen, older in [
        ("UPS-BATT-12V9AH", "UPS 蓄电池 12V 9Ah", 18500, 17200),
        ("HDD-4T-SAS", "服务器硬盘 4TB SAS", 52000, 55000),
        ("FUSER-M706", "惠普 M706 定影组件", 86000, None),
        ("CABLE-5E", "超五类网线 3m", 1233, None),
        ("PSU-450", "电源 450W", 4550, None),
    ]:
        this_year = today.replace(month=1, day=1)
        db.session.add(
            PartPrice(part_code=code, description=desc, effective_from=this_year, unit_cost_fen=fen)
        )
        if older is not None:
            db.session.add(
                PartPrice(part_code=code, description=desc, effective_from=date(2024, 1, 1),
                          unit_cost_fen=older)
            )  # fmt: skip

    def shanghai(day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=COMPANY_TZ).astimezone(UTC)

    def phone(engineer: User, prefix: str) -> Device:
        device = Device(
            id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"onsite-demo-{prefix}")),
            user_id=engineer.id,
            name="演示手机",
            token_hash=hash_token(new_token()),
            receipt_prefix=prefix,
            expires_at=utcnow() + timedelta(days=1),
            revoked_at=utcnow(),  # shows the receipts' device; nobody can sign in with it
        )
        db.session.add(device)
        return device

    def captured(device: Device, at: datetime) -> dict:
        return {
            "device_id": device.id,
            "user_id": device.user_id,
            "op_id": str(uuid.uuid4()),
            "hlc": f"{int(at.timestamp() * 1000):015d}-00000-{device.id}",
            "device_time": at.astimezone(COMPANY_TZ).isoformat(),
            "received_at": at,
        }

    def visit(engineer: User, serial: str, problem: str, arrived: datetime) -> Visit:
        item = db.session.scalar(db.select(Equipment).where(Equipment.serial_number == serial))
        req = register.register_request(
            {
                "customer_id": item.customer_id,
                "equipment_id": item.id,
                "problem": problem,
                "symptoms": None,
                "channel": "hotline",
                "severity": "normal",
                "urgency": "normal",
                "needs_visit": True,
                "received_at": arrived - timedelta(hours=2),
            },
            users["office"],
        )
        v = dispatch.schedule_visit(
            req,
            {
                "engineer_id": engineer.id,
                "window_start": arrived - timedelta(minutes=15),
                "window_end": arrived + timedelta(minutes=45),
                "onsite_fee_fen": 30000,
            },
        )
        v.arrived_at, v.departed_at, v.status = arrived, arrived + timedelta(hours=1), "completed"
        return v

    def part(device, v, code, qty, fen, at):
        db.session.add(
            PartEvent(id=str(uuid.uuid4()), visit_id=v.id, kind="replaced", part_code=code,
                      description=code, qty=qty, unit_cost_fen=fen, **captured(device, at))
        )  # fmt: skip

    def pay(device, v, seq, method, fen, payer, at) -> Payment:
        row = Payment(
            id=str(uuid.uuid4()), visit_id=v.id, method=method, amount_fen=fen, currency="CNY",
            payer=payer, receipt_no=f"R-{device.receipt_prefix}-{seq:06d}", **captured(device, at),
        )  # fmt: skip
        db.session.add(row)
        return row

    # Yesterday, 李强 (eng2): four UPS batteries out of warranty; paid in cash and WeChat, one
    # receipt voided for a typing slip; nothing handed over yet, so the cash is still in hand.
    eng2, p2 = users["eng2"], phone(users["eng2"], "DEMA")
    yesterday = today - timedelta(days=1)
    at = shanghai(yesterday, 10, 30)
    v1 = visit(eng2, "AS2104300155", "UPS 蓄电池鼓包", at)
    db.session.flush()
    part(p2, v1, "UPS-BATT-12V9AH", 4, 18500, at)
    pay(p2, v1, 1, "cash", 50000, "马经理", at + timedelta(minutes=50))
    wrong = pay(p2, v1, 2, "wechat", 140000, "马经理", at + timedelta(minutes=52))
    db.session.flush()
    db.session.add(
        PaymentVoid(id=str(uuid.uuid4()), payment_id=wrong.id, visit_id=v1.id,
                    reason="金额录错(1400 应为 540)", **captured(p2, at + timedelta(minutes=53)))
    )  # fmt: skip
    pay(p2, v1, 3, "wechat", 54000, "马经理", at + timedelta(minutes=55))

    # Two days ago, 张伟 (eng1): a server disk; the phone still had the old, higher price, so the
    # customer paid 30 yuan more than the list says; the cash came in 10 yuan short.
    eng1, p1 = users["eng1"], phone(users["eng1"], "DEMB")
    before = today - timedelta(days=2)
    at = shanghai(before, 15)
    v2 = visit(eng1, "J30A8K2X", "服务器 2 号盘预故障", at)
    db.session.flush()
    part(p1, v2, "HDD-4T-SAS", 1, 55000, at)
    paid = pay(p1, v2, 1, "cash", 85000, "马经理", at + timedelta(minutes=70))
    db.session.flush()
    record_handover(
        {"engineer_id": eng1.id, "amounts": {"cash": 84000}, "payment_ids": [paid.id],
         "note": "差 10 元,工程师称找零"},
        users["finance"],
    )  # fmt: skip
    db.session.commit()
