"""Who may see and change which customer. Every customer query goes through `visible_to`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import true
from sqlmodel import Session

from store.models import Customer, Member, Role

MAX_MERGE_HOPS = 8


class PermissionDenied(Exception):
    """The acting member may not see or change this record."""


def visible_to(actor: Member) -> Any:
    """SQL condition on Customer: a rep sees own customers, a supervisor the team's, an admin all."""
    if not actor.active:
        return Customer.id == -1  # type: ignore[comparison-overlap]
    if actor.role == Role.ADMIN:
        return true()
    if actor.role == Role.SUPERVISOR:
        return Customer.team_id == actor.team_id
    return Customer.owner_id == actor.id


def can_see(actor: Member, customer: Customer) -> bool:
    if not actor.active:
        return False
    if actor.role == Role.ADMIN:
        return True
    if actor.role == Role.SUPERVISOR:
        return customer.team_id == actor.team_id
    return customer.owner_id == actor.id


def require_manager(actor: Member) -> None:
    if actor.role not in (Role.SUPERVISOR, Role.ADMIN) or not actor.active:
        raise PermissionDenied("supervisor or admin only")


def member_may_see(*, session: Session, member_id: int, customer_id: int) -> bool:
    """Whether the member may see the customer *now* (a push is checked again when it is sent: a
    转给 or a release in between means the card must not go out). A merged customer is judged by
    the one it was merged into."""
    member = session.get(Member, member_id)
    customer = session.get(Customer, customer_id)
    for _ in range(MAX_MERGE_HOPS):
        if customer is None or customer.merged_into_id is None:
            break
        customer = session.get(Customer, customer.merged_into_id)
    return member is not None and customer is not None and customer.merged_into_id is None and can_see(member,
                                                                                                        customer)
