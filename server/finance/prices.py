"""The fee schedule and the part price list, each entry applying from a business day (S3).

Entries are never edited: a new entry from a later day supersedes the old one, so an old visit
keeps the prices of its own day.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from server.accounts.models import User
from server.errors import ApiError
from server.extensions import db
from server.finance.audit import record_action
from server.finance.models import FeeRate, PartPrice


def add_fee_rate(data: dict[str, Any], user: User) -> FeeRate:
    """Set the on-site service fee from a day onwards."""
    day = data["effective_from"]
    if db.session.scalar(select(FeeRate.id).where(FeeRate.effective_from == day)) is not None:
        raise ApiError(
            409,
            "err.prices.fee_exists",
            {"effective_from": ["form.err.entry_exists_day"]},
            params={"day": day.isoformat()},
        )
    rate = FeeRate(
        effective_from=day,
        onsite_fee_fen=data["onsite_fee_fen"],
        note=(data.get("note") or "").strip(),
        created_by_id=user.id,
    )
    db.session.add(rate)
    db.session.flush()
    record_action(
        user,
        "fee.add",
        f"fee:{rate.id}",
        effective_from=day.isoformat(),
        onsite_fee_fen=rate.onsite_fee_fen,
    )
    return rate


def add_part_price(data: dict[str, Any], user: User) -> PartPrice:
    """Set a part's manufacturer's cost price from a day onwards."""
    code, day = data["part_code"].strip(), data["effective_from"]
    exists = select(PartPrice.id).where(
        PartPrice.part_code == code, PartPrice.effective_from == day
    )
    if db.session.scalar(exists) is not None:
        raise ApiError(
            409,
            "err.prices.part_exists",
            {"effective_from": ["form.err.entry_exists_day_part"]},
            params={"code": code, "day": day.isoformat()},
        )
    price = PartPrice(
        part_code=code,
        description=(data.get("description") or "").strip(),
        effective_from=day,
        unit_cost_fen=data["unit_cost_fen"],
        created_by_id=user.id,
    )
    db.session.add(price)
    db.session.flush()
    record_action(
        user,
        "part_price.add",
        f"part_price:{price.id}",
        part_code=code,
        effective_from=day.isoformat(),
        unit_cost_fen=price.unit_cost_fen,
    )
    return price


def fee_rates() -> list[FeeRate]:
    """Return the fee schedule, newest first."""
    return list(db.session.scalars(select(FeeRate).order_by(FeeRate.effective_from.desc())))


def part_prices() -> list[PartPrice]:
    """Return the part price list by part, newest entry first."""
    return list(
        db.session.scalars(
            select(PartPrice).order_by(PartPrice.part_code, PartPrice.effective_from.desc())
        )
    )
