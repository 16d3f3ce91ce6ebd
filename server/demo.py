"""Demo data: a small realistic company. Loading it twice changes nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from server.accounts.models import Role, User
from server.accounts.operations import create_user
from server.customers.models import Customer, Equipment
from server.db_types import utcnow
from server.dispatch import operations as dispatch
from server.domain.timezone import business_day, day_bounds_utc
from server.extensions import db
from server.feed.models import ServerState
from server.register import operations as register
from server.register.models import RequestStatus

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
    today = business_day(utcnow())  # the company's day, not the machine's
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
            **todays_window(now, timedelta(minutes=10), timedelta(minutes=60)),
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
            **todays_window(now, -timedelta(minutes=20), timedelta(minutes=60)),
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
            **todays_window(now, timedelta(hours=3), timedelta(hours=1)),
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
    _todays_visits(users, customers, equipment, new_request)
    db.session.add(ServerState(key="demo_loaded", value=now.isoformat()))
    db.session.commit()
    load_finance_demo()
    return True


def todays_window(now: datetime, offset: timedelta, length: timedelta) -> dict[str, datetime]:
    """A visit window `offset` from now, moved as little as needed to lie within today (the
    company's day): just after midnight or late in the evening, never on another day."""
    first, end = day_bounds_utc(business_day(now))
    start = max(first, min(now + offset, end - length))
    return {"window_start": start, "window_end": start + length}


# Each engineer gets at least one visit in warranty (nothing charged, S2) and one out of it
# (fee and parts, S3) today, so the phone shows both kinds of charges screen.
TODAYS_VISITS = [
    # (engineer, equipment index, problem, symptoms, hours from now)
    ("eng1", 1, "录像机硬盘告警", "NVR 面板提示 3 号盘读写错误", 2),
    ("eng2", 2, "服务器风扇异响", "机柜内有持续高频噪声,管理口显示风扇 4 转速低", 1),
    ("eng3", 5, "服务器无法开机", "按电源键无反应,电源指示灯不亮", 1),
    ("eng3", 3, "UPS 旁路告警", "UPS 转旁路运行,面板显示逆变器故障", 3),
]


def _todays_visits(users, customers, equipment, new_request) -> None:
    now = utcnow()
    for engineer, index, problem, symptoms, hours in TODAYS_VISITS:
        item = equipment[index]
        customer = next(c for c in customers if c.id == item.customer_id)
        request = new_request(customer, item, problem, symptoms, "hotline", 30)
        register.record_phone_response(request, {"at": request.received_at + timedelta(minutes=10)})
        dispatch.schedule_visit(
            request,
            {
                "engineer_id": users[engineer].id,
                **todays_window(now, timedelta(hours=hours), timedelta(hours=1)),
                "onsite_fee_fen": 30000,
            },
        )


# --- Finance demo: fee schedule, part price list, and two engineers' recent days --------------


def load_finance_demo() -> None:
    """Add the fee schedule, part prices and a few synced-looking visits with money (S2, S3, S23).

    The field records go through the sync engine from the demo engineers' phones, the path real
    field data takes, so the phone, the office and finance show one story: an open day with cash
    still in hand, and a day with a short handover and a part the phone priced differently from
    the price list.
    """
    import uuid
    from datetime import UTC, time

    from server.accounts.auth import hash_token, new_token
    from server.accounts.models import Device
    from server.domain.timezone import COMPANY_TZ
    from server.finance.handover import record_handover
    from server.finance.models import FeeRate, PartPrice
    from server.syncing.store import SqlStore
    from server.visits.models import Visit
    from sync import hlc
    from sync.engine import apply_push

    users = {u.username: u for u in db.session.scalars(db.select(User))}
    today = business_day(utcnow())
    # The current fee and prices from 1 January of the year of a week ago, so in the first days
    # of January the days the story is set on (up to two days back, a week with room) keep them.
    current_from = (today - timedelta(days=7)).replace(month=1, day=1)
    for day, fen, note in [
        (date(2024, 1, 1), 25000, "2024 年标准"),
        (current_from, 30000, f"{current_from.year} 年起上门服务费调整"),
    ]:
        db.session.add(FeeRate(effective_from=day, onsite_fee_fen=fen, note=note))
    for code, desc, fen, older in [
        ("UPS-BATT-12V9AH", "UPS 蓄电池 12V 9Ah", 18500, 17200),
        ("HDD-4T-SAS", "服务器硬盘 4TB SAS", 52000, 55000),
        ("FUSER-M706", "惠普 M706 定影组件", 86000, None),
        ("CABLE-5E", "超五类网线 3m", 1233, None),
        ("PSU-450", "电源 450W", 4550, None),
    ]:
        db.session.add(
            PartPrice(
                part_code=code, description=desc, effective_from=current_from, unit_cost_fen=fen
            )
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

    class DemoPhone:
        """The demo engineer's phone: its ops go through the sync engine, as a real phone's do."""

        def __init__(self, device: Device, engineer: User) -> None:
            self.device, self.engineer = device, engineer
            self.seq, self.clock = 0, None
            self.ops: list[dict] = []
            self.receipts = 0

        def op(self, kind: str, v: Visit, payload: dict, at: datetime, record_id=None) -> dict:
            self.seq += 1
            self.clock = hlc.tick(self.clock, int(at.timestamp() * 1000), self.device.id)
            op = {
                "op_id": str(uuid.uuid4()), "seq": self.seq, "kind": kind,
                "record_id": record_id or str(uuid.uuid4()), "visit_id": v.id,
                "hlc": self.clock, "schema_version": 1, "payload": payload,
                "device_time": at.astimezone(COMPANY_TZ).isoformat(),
            }  # fmt: skip
            self.ops.append(op)
            return op

        def receipt_no(self) -> str:
            self.receipts += 1
            return f"R-{self.device.receipt_prefix}-{self.receipts:06d}"

        def sync(self, at: datetime) -> None:
            """Push the outbox as the phone would have when it came back online at `at`."""
            db.session.flush()
            result = apply_push(
                SqlStore(self.engineer.id), self.device.id, self.ops, int(at.timestamp() * 1000)
            )
            bad = [r for r in result.results if r.status != "applied"]
            assert not bad, bad  # demo data that the engine refuses is a bug in the demo
            self.ops = []

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
        db.session.flush()
        return v

    def arrive(ph: DemoPhone, v: Visit, at: datetime) -> None:
        ph.op("visit.transition", v, _transition("arrived", permission_granted=True), at)

    def complete(ph: DemoPhone, v: Visit, outcome: str, at: datetime) -> None:
        ph.op("visit.transition", v, _transition("completed", outcome_summary=outcome), at)

    def part(ph: DemoPhone, v: Visit, code: str, qty: int, fen: int, at: datetime) -> None:
        payload = {"kind": "replaced", "part_code": code, "description": code, "qty": qty,
                   "unit_cost_fen": fen, "reverses": None}  # fmt: skip
        ph.op("part.add", v, payload, at)

    def pay(ph: DemoPhone, v: Visit, method: str, fen: int, payer: str, at: datetime) -> str:
        payload = {"method": method, "amount_fen": fen, "currency": "CNY", "payer": payer,
                   "receipt_no": ph.receipt_no()}  # fmt: skip
        return ph.op("payment.record", v, payload, at)["record_id"]

    # Yesterday, 李强 (eng2): four UPS batteries out of warranty; paid in cash and WeChat, one
    # receipt voided for a typing slip; nothing handed over yet, so the cash is still in hand.
    eng2 = users["eng2"]
    p2 = DemoPhone(phone(eng2, "DEMA"), eng2)
    yesterday = today - timedelta(days=1)
    at = shanghai(yesterday, 10, 30)
    v1 = visit(eng2, "AS2104300155", "UPS 蓄电池鼓包", at)
    arrive(p2, v1, at)
    part(p2, v1, "UPS-BATT-12V9AH", 4, 18500, at + timedelta(minutes=30))
    complete(p2, v1, "更换 4 节蓄电池,UPS 自检通过", at + timedelta(minutes=48))
    pay(p2, v1, "cash", 50000, "马经理", at + timedelta(minutes=50))
    wrong = pay(p2, v1, "wechat", 140000, "马经理", at + timedelta(minutes=52))
    void = {"payment_id": wrong, "reason": "金额录错(1400 应为 540)"}
    p2.op("payment.void", v1, void, at + timedelta(minutes=53))
    pay(p2, v1, "wechat", 54000, "马经理", at + timedelta(minutes=55))
    p2.sync(at + timedelta(hours=1))

    # Two days ago, 张伟 (eng1): a server disk; the phone still had the old, higher price, so the
    # customer paid 30 yuan more than the list says; the cash came in 10 yuan short.
    eng1 = users["eng1"]
    p1 = DemoPhone(phone(eng1, "DEMB"), eng1)
    before = today - timedelta(days=2)
    at = shanghai(before, 15)
    v2 = visit(eng1, "J30A8K2X", "服务器 2 号盘预故障", at)
    arrive(p1, v2, at)
    part(p1, v2, "HDD-4T-SAS", 1, 55000, at + timedelta(minutes=40))
    complete(p1, v2, "更换 2 号硬盘,RAID 重建完成", at + timedelta(minutes=65))
    paid = pay(p1, v2, "cash", 85000, "马经理", at + timedelta(minutes=70))
    p1.sync(at + timedelta(hours=2))
    record_handover(
        {"engineer_id": eng1.id, "amounts": {"cash": 84000}, "payment_ids": [paid],
         "note": "差 10 元,工程师称找零"},
        users["finance"],
    )  # fmt: skip
    db.session.commit()


def _transition(to: str, **fields) -> dict:
    """A full visit.transition payload, as the phone sends it."""
    names = ("late_reason", "customer_informed", "permission_granted", "outcome_summary",
             "explanation", "escalate")  # fmt: skip
    return {"to": to, **{name: fields.get(name) for name in names}}
