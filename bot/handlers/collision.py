"""撞单: a rep brought a phone or e-mail that is another rep's customer. The rep learns nothing of
the other record; the supervisors get a card naming both reps and the customer, with 转给 buttons
for either rep (the ordinary 转给, store.leads.reassign_lead: atomic, a repeated tap is refused).

Private by default: the card goes to the supervisors who may see the customer (the owner's); a
supervisor of the rep who may not (another team) gets only the masked contact, as before."""

from __future__ import annotations

from bot.cards.supervision import build_collision_card
from bot.context import HandlerContext
from bot.format import mask_email, mask_phone
from store.customers import can_assign
from store.members import supervisors_of
from store.models import Customer, Member
from store.permissions import can_see


def alert_collision(ctx: HandlerContext, taken: Customer | None, *, phone: str | None, email: str | None) -> None:
    contact = mask_phone(phone) if phone else mask_email(email)
    owner = ctx.session.get(Member, taken.owner_id) if taken is not None and taken.owner_id is not None else None
    supervisors = {s.id: s for s in supervisors_of(session=ctx.session, member=ctx.member)}
    if owner is not None and owner.team_id != ctx.member.team_id:
        supervisors.update((s.id, s) for s in supervisors_of(session=ctx.session, member=owner))
    for sup in supervisors.values():
        if taken is None or owner is None or not can_see(sup, taken):
            ctx.notify(sup.id or 0, text=f"【撞单提醒】{ctx.member.display_name} 提交的客户（{contact}）"
                                         "已有其他同事跟进，请协调归属。")
            continue
        card = build_collision_card(customer=taken, owner=owner, submitter=ctx.member, contact=contact,
                                    transfer_to=[m for m in (owner, ctx.member) if can_assign(sup, m)])
        ctx.notify(sup.id or 0, card=card)
