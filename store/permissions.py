"""Who may see and change which customer. Every customer query goes through `visible_to`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import true

from store.models import Customer, Member, Role


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
