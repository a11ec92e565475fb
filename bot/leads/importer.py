"""`genjin import`: spreadsheet rows -> leads, with the duplicate check and the rules on every row.

Speed (10k rows well under a minute) comes from doing per row only what must be per row: members,
the duplicate index and the rules' state are loaded once and kept current in memory; rows are
written a chunk per transaction. Each row's content hash is its touch's dedupe key, so a re-run
(whole or after a crash mid-way) skips what is in, and a repeated row in the file counts once.

Rows naming a 负责人 are that rep's own customers moving in: owned at once, no new-lead clock.
Rows without one are new leads: the rules decide, like an API intake — including `approval = true`:
such a lead is held in the pool for the picked rep's supervisor (批准/驳回 card), unless the person
importing may decide that approval themselves (the rep's own supervisor, the approver, an admin):
running the import is then the decision, and the reason says so.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.leads.approvals import first_approver, hold_for_approval
from bot.leads.assignment import Decision, decide, load_state
from bot.leads.fields import FieldError, LeadInput, validate_lead
from bot.leads.import_export import FIELD_LABELS, Mapping
from bot.leads.intake import channel_table, facts_of, fill_blanks, new_customer, new_touch
from bot.leads.rules import Rules, RulesError, load_rules
from bot.pipeline.push import push_to_member
from store.approvals import may_approve
from store.db import session_scope
from store.leads import (
    assign_lead,
    default_team_id,
    existing_touch_keys,
    is_same_named_lead,
    set_owner,
    touch_summary,
)
from store.models import Customer, LeadAssignment, Member, Role, TimelineEvent
from store.names import pinyin_of
from store.permissions import require_manager
from store.timeline import stored_summary
from store.types import require_id

CHUNK = 1000
HASHED = ("name", "phone", "email", "company", "title", "channel", "campaign", "region", "industry", "product",
          "grade", "owner", "landing_url", "action", "note")


@dataclass
class RowError:
    line: int  # as the spreadsheet numbers it
    errors: list[FieldError]
    row: list[str]


@dataclass
class ImportReport:
    total: int = 0
    created: int = 0
    touched: int = 0  # known customers: a new touch on the timeline
    skipped: int = 0  # imported before (re-run) or repeated in the file
    errors: list[RowError] = field(default_factory=list)
    assigned: Counter[str] = field(default_factory=Counter)  # rep name (or 公海) -> new leads
    held: int = 0  # new leads waiting for a supervisor's approval (a rule with approval = true)
    dry_run: bool = False


@dataclass
class _Plan:
    line: int
    lead: LeadInput
    key: str
    customer: Customer | None = None  # new
    known: Customer | int | None = None  # duplicate: loaded, created earlier in this file, or an id
    owner: Member | None = None
    explicit: bool = False
    decision: Decision | None = None
    held: bool = False  # the rule wants approval and the importer may not give it: held in the pool


class Importer:
    def __init__(self, *, engine: Engine, settings: Settings, actor: Member, now: datetime, file_label: str,
                 dry_run: bool = False) -> None:
        require_manager(actor)
        self.engine, self.settings, self.actor, self.now = engine, settings, actor, now
        self.file_label, self.dry_run = file_label, dry_run
        self.channels = channel_table(settings)
        self.by_phone: dict[str, Customer | int] = {}
        self.by_email: dict[str, Customer | int] = {}
        self.by_pinyin: dict[str, list[tuple[str, str | None, Customer | int]]] = {}
        self.seen_keys: set[str] = set()
        self.by_rules: Counter[int] = Counter()  # member id -> new leads the rules gave them (one message each)
        self.approvers: dict[int, Member | None] = {}  # proposed member id -> who approves (first_approver)

    # -------------------------------------------------------------- loading once

    def _load(self, session: Session) -> None:
        self.members: dict[str, list[Member]] = {}
        self.member_by_id: dict[int, Member] = {}
        for m in session.exec(select(Member)).all():
            self.members.setdefault(m.display_name, []).append(m)
            self.member_by_id[require_id(m)] = m
        # Six columns, not whole rows: the index of a large customer table stays cheap to build.
        columns = [col(Customer.id), col(Customer.name), col(Customer.name_pinyin), col(Customer.company),
                   col(Customer.phone), col(Customer.email)]
        rows = session.execute(sa_select(*columns).where(col(Customer.merged_into_id).is_(None))
                               .order_by(col(Customer.id)))
        for cid, name, pinyin, company, phone, email in rows:
            self._index(int(cid), name, pinyin, company, phone, email)
        self.pool_team = default_team_id(session=session)
        try:
            self.rules: Rules | None = load_rules(session=session, rules_file=self.settings.leads.rules_file,
                                                  channels=self.channels)
            self.rules_error = ""
            self.state = load_state(session=session, rules=self.rules, now=self.now,
                                    window_days=self.settings.leads.conversion_window_days,
                                    exemption_kinds=self.settings.leads.skip_exemption_kinds)
        except RulesError as exc:
            self.rules, self.rules_error = None, str(exc.problems[0])

    def _index(self, ref: Customer | int, name: str, pinyin: str, company: str | None, phone: str | None,
               email: str | None) -> None:
        if phone:
            self.by_phone.setdefault(phone, ref)
        if email:
            self.by_email.setdefault(email.lower(), ref)
        if company:
            self.by_pinyin.setdefault(pinyin, []).append((name, company, ref))

    def _find_known(self, lead: LeadInput) -> Customer | int | None:
        """The same rules as store.leads.find_lead_duplicate, against the in-memory index."""
        for index, value in ((self.by_phone, lead.phone), (self.by_email, lead.email)):
            if value and value in index:
                return index[value]
        if lead.company:
            for name, company, ref in self.by_pinyin.get(pinyin_of(lead.name), []):
                if is_same_named_lead(name, company, lead.name, lead.company):
                    return ref
        return None

    # -------------------------------------------------------------- planning a row

    def _validate(self, line: int, values: dict[str, str], default_channel: str | None,
                  ) -> tuple[LeadInput, str, Member | None, bool] | list[FieldError]:
        owner_name = values.pop("owner", "")
        if not values.get("channel") and default_channel:
            values["channel"] = default_channel
        lead, errors = validate_lead(values, channels=self.channels)
        owner, explicit = None, False
        if owner_name:
            found = self.members.get(owner_name, [])
            if len(found) != 1:
                errors.append(FieldError("owner", f"负责人「{owner_name}」{'不存在' if not found else '有重名'}"))
            elif self.actor.role != Role.ADMIN and found[0].team_id != self.actor.team_id:
                errors.append(FieldError("owner", f"负责人「{owner_name}」不在你的团队"))
            elif found[0].active:
                owner, explicit = found[0], True
        if errors or lead is None:
            return errors
        digest = hashlib.sha1("\x1f".join([*(values.get(k, "") for k in HASHED), owner_name]).encode()).hexdigest()
        return lead, f"import:{digest}", owner, explicit

    def _decide(self, plan: _Plan, owner_name: str | None) -> None:
        if plan.explicit and plan.owner is not None:
            plan.decision = Decision(require_id(plan.owner), plan.owner.display_name, plan.owner.team_id, None, None,
                                     f"从 {self.file_label} 导入：表格指定负责人 {plan.owner.display_name}")
            return
        facts = facts_of(plan.lead, self.settings)
        if self.rules is None:
            reason = f"{facts.describe()}，分配规则文件有误（{self.rules_error}），进入公海"
            plan.decision = Decision(None, None, self.pool_team, None, None, reason)
        else:
            plan.decision = decide(rules=self.rules, lead=facts, state=self.state, channels=self.channels,
                                   tz=self.settings.tz)
            plan.decision.team_id = plan.decision.team_id or self.rules.pool_team_id or self.pool_team
            if plan.decision.member_id is not None and plan.decision.group:
                self.state.record(plan.decision.group, plan.decision.member_id)
        if owner_name:  # named but no longer active: the rules decided instead
            plan.decision.reason = f"表格负责人 {owner_name} 已停用，{plan.decision.reason}"
        if plan.decision.member_id is not None and plan.decision.needs_approval:
            self._approval(plan)
        if plan.decision.member_id is not None and not plan.held:
            plan.owner = self.member_by_id[plan.decision.member_id]
            self.by_rules[plan.decision.member_id] += 1

    def _approval(self, plan: _Plan) -> None:
        """A rule with approval = true picked a rep: as /api/leads does, the lead waits for the rep's
        supervisor — unless the importer is someone who may decide it (store.approvals.may_approve:
        an admin, the approver, a supervisor of the rep's team), whose import is the decision; or
        nobody can approve (assigned as decided, as /api/leads does). The reason says which."""
        d = plan.decision
        assert d is not None and d.member_id is not None
        proposed = self.member_by_id[d.member_id]
        if d.member_id not in self.approvers:
            with Session(self.engine) as session:
                self.approvers[d.member_id] = first_approver(session=session, proposed=proposed)
        approver = self.approvers[d.member_id]
        me = self.actor
        if approver is None:
            d.reason += "（规则要求审批，但没有可审批的主管，直接分配）"
        elif may_approve(actor=me, approver_id=approver.id, proposed=proposed):
            d.reason += f"（规则要求审批，导入人 {me.display_name} 有审批权，导入即批准）"
        else:
            plan.held = True

    # -------------------------------------------------------------- the run

    def run(self, table: list[list[str]], mapping: Mapping, *, default_channel: str | None = None,
            progress: Callable[[int], None] | None = None) -> ImportReport:
        report = ImportReport(dry_run=self.dry_run)
        with Session(self.engine) as session:
            self._load(session)
        body = [(mapping.header_row + 2 + i, row) for i, row in enumerate(table[mapping.header_row + 1:])
                if any(cell for cell in row)]
        report.total = len(body)
        for start in range(0, len(body), CHUNK):
            chunk = body[start:start + CHUNK]
            plans = self._plan_chunk(chunk, mapping, default_channel, report)
            if not self.dry_run and plans:
                with session_scope(self.engine) as session:
                    self._apply(session, plans)
            if progress is not None:
                progress(len(chunk))
        if not self.dry_run:
            self._notify()
        return report

    def _plan_chunk(self, chunk: list[tuple[int, list[str]]], mapping: Mapping, default_channel: str | None,
                    report: ImportReport) -> list[_Plan]:
        checked: list[tuple[_Plan, str]] = []
        for line, row in chunk:
            values = mapping.row_values(row)
            owner_name = values.get("owner", "")
            result = self._validate(line, values, default_channel)
            if isinstance(result, list):
                report.errors.append(RowError(line, result, row))
                continue
            lead, key, owner, explicit = result
            checked.append((_Plan(line, lead, key, owner=owner, explicit=explicit), owner_name))
        with Session(self.engine) as session:
            done = existing_touch_keys(session=session, keys=[p.key for p, _ in checked])
        plans = []
        for plan, owner_name in checked:
            if plan.key in done or plan.key in self.seen_keys:
                report.skipped += 1
                continue
            self.seen_keys.add(plan.key)
            plan.known = self._find_known(plan.lead)
            if plan.known is not None:
                report.touched += 1
            else:
                self._decide(plan, owner_name if owner_name and not plan.explicit else None)
                assert plan.decision is not None
                plan.customer = new_customer(lead=plan.lead, team_id=plan.decision.team_id or 0, now=self.now)
                self._index(plan.customer, plan.lead.name, plan.customer.name_pinyin, plan.lead.company,
                            plan.lead.phone, plan.lead.email)
                report.created += 1
                if plan.held:
                    report.held += 1
                else:
                    report.assigned[plan.decision.member_name or "公海"] += 1
            plans.append(plan)
        return plans

    def _apply(self, session: Session, plans: list[_Plan]) -> None:
        hours = self.settings.pushes.new_lead_hours
        ids = [p.known for p in plans if isinstance(p.known, int)]
        loaded = {c.id: c for c in session.exec(select(Customer).where(col(Customer.id).in_(ids)))} if ids else {}
        for plan in plans:
            if plan.customer is None:
                continue
            d = plan.decision
            assert d is not None
            if plan.explicit:
                plan.customer.lead_received_at = None  # the rep's own customer, not a lead to race for
            set_owner(plan.customer, None if plan.held else plan.owner, team_id=d.team_id or 0, now=self.now,
                      due_hours=None if plan.explicit else hours)
            session.add(plan.customer)
        session.flush()
        rows: list[object] = []
        held: list[_Plan] = []
        for plan in plans:
            target = plan.customer if plan.customer is not None else (
                loaded.get(plan.known) if isinstance(plan.known, int) else plan.known)
            if not isinstance(target, Customer) or target.id is None:
                continue
            touch = new_touch(customer=target, lead=plan.lead, source="import", dedupe_key=plan.key, now=self.now)
            filled: list[str] = []
            if plan.customer is None:
                target.latest_channel = plan.lead.channel.name
                filled = fill_blanks(target, plan.lead)
                session.add(target)
            rows.append(touch)
            rows.append(self._event(target, "lead_in" if plan.customer else "lead_touch",
                                    touch_summary(touch, first=plan.customer is not None, filled=filled)))
            if plan.customer is not None and plan.decision is not None and plan.held:
                held.append(plan)  # its assignment row and event come from hold_for_approval, below
            elif plan.customer is not None and plan.decision is not None:
                d = plan.decision
                kind = "import" if plan.explicit else ("auto" if d.member_id else "pool")
                rows.append(LeadAssignment(customer_id=target.id, kind=kind, member_id=d.member_id,
                                           actor_id=self.actor.id, rule=d.rule, group_name=d.group, reason=d.reason,
                                           details={**d.details, "source": "import", "line": plan.line},
                                           created_at=self.now))
                rows.append(self._event(target, f"lead_{kind}", d.reason))
        session.add_all(rows)
        for plan in held:
            assert plan.customer is not None and plan.decision is not None
            plan.decision.details = {**plan.decision.details, "source": "import", "line": plan.line}
            if hold_for_approval(session=session, settings=self.settings, customer=plan.customer,
                                 decision=plan.decision, now=self.now) is None:
                # The approver left between planning and writing: assigned as decided, as /api/leads does.
                member = self.member_by_id[plan.decision.member_id or 0]
                assign_lead(session=session, customer=plan.customer, member=member, team_id=member.team_id,
                            kind="auto", reason=plan.decision.reason + "（规则要求审批，但没有可审批的主管，直接分配）",
                            now=self.now, due_hours=hours, actor=self.actor, rule=plan.decision.rule,
                            group=plan.decision.group, details=plan.decision.details)

    def _event(self, customer: Customer, kind: str, summary: str) -> TimelineEvent:
        return TimelineEvent(customer_id=require_id(customer), actor_id=self.actor.id, kind=kind,
                             summary=stored_summary(summary),
                             ref={"source": "import", "file": self.file_label}, created_at=self.now)

    def _notify(self) -> None:
        """One message per rep for the whole import, not one card per row."""
        with session_scope(self.engine) as session:
            for member_id, count in self.by_rules.items():
                push_to_member(session=session, at=self.now, member=self.member_by_id[member_id],
                               platforms=self.settings.enabled_platforms,
                               dedupe_key=f"import:{int(self.now.timestamp())}:{member_id}",
                               text=f"【导入新线索】{self.actor.display_name} 从 {self.file_label} 导入，"
                                    f"按分配规则给你 {count} 条新线索，发送「我的客户」查看。")


def write_error_file(path: Path, headers: list[str], errors: list[RowError]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:  # utf-8-sig: Excel opens it as UTF-8
        writer = csv.writer(fh)
        writer.writerow(["行号", "字段", "原因", *headers])
        for e in errors:
            writer.writerow([e.line, "；".join(FIELD_LABELS.get(x.field, x.field) for x in e.errors),
                             "；".join(x.reason for x in e.errors), *e.row])
