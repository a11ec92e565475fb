"""The assignment rule file (TOML): groups of reps and ordered rules; parsing, checking, matching.

    pool_team = "一组"                  # team whose supervisors watch unassigned leads (公海)

    [groups."华东A组"]
    members = ["王芳", "李明"]          # display names, "团队/姓名" when ambiguous, or member ids
    strategy = "weighted"               # round_robin | weighted | least_load
    cap = 5                             # open uncontacted leads per rep; full -> the next group

    [[rules]]
    name = "抖音华东"
    channel = ["抖音", "小红书"]        # also region, industry, product, grade; absent = any
    score = ">=60"                      # the lead score at intake (bot/scoring): >=, >, <=, <, or "40-59"
    groups = ["华东A组", "华东B组"]
    approval = true                     # optional: the pick waits for the rep's supervisor (批准/驳回)

The file is parsed once per change (mtime); members are resolved on every load because people join,
leave and change teams without anyone editing the rules.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlmodel import Session, col, select

from bot.leads.channels import ChannelTable
from store.models import Member, Team

MATCH_KEYS = ("channel", "region", "industry", "product", "grade")
LABELS = {"channel": "渠道", "region": "区域", "industry": "行业", "product": "产品", "grade": "客户等级"}
STRATEGY_LABELS = {"round_robin": "轮流", "weighted": "按转化率加权", "least_load": "最少未联系线索优先"}


class GroupSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    members: list[str | int] = Field(min_length=1)
    strategy: Literal["round_robin", "weighted", "least_load"] = "round_robin"
    cap: int | None = Field(default=None, ge=1)
    weights: dict[str, float] | None = None  # weighted: fixed weights by member instead of conversion

    @field_validator("weights")
    @classmethod
    def _positive(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value and any(w <= 0 for w in value.values()):
            raise ValueError("weights must be positive")
        return value


class RuleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    channel: list[str] = Field(default_factory=list)
    region: list[str] = Field(default_factory=list)
    industry: list[str] = Field(default_factory=list)
    product: list[str] = Field(default_factory=list)
    grade: list[str] = Field(default_factory=list)
    score: str | None = None  # ">=60", "<30", "40-59": the lead's score at intake
    groups: list[str] = Field(min_length=1)
    pool_team: str | int | None = None
    # The rep this rule picks gets the lead only once the rep's supervisor approves (e.g. a rule that
    # sends one region's leads to another region's reps); until then it waits, unclaimable, in the pool.
    approval: bool = False

    @field_validator("score")
    @classmethod
    def _score_condition(cls, value: str | None) -> str | None:
        if value is not None and parse_score_condition(value) is None:
            raise ValueError("score 应写成 \">=60\"、\"<30\" 或 \"40-59\"")
        return value

    @field_validator(*MATCH_KEYS, mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class RuleFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pool_team: str | int | None = None
    groups: dict[str, GroupSpec] = Field(default_factory=dict)
    rules: list[RuleSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> RuleFile:
        names = [r.name for r in self.rules]
        if dupes := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"rule names must be unique: {', '.join(dupes)}")
        for rule in self.rules:
            if missing := [g for g in rule.groups if g not in self.groups]:
                raise ValueError(f"rule {rule.name!r} uses undefined groups: {', '.join(missing)}")
        for name, group in self.groups.items():
            listed = {str(m) for m in group.members}
            if group.weights and (extra := sorted(set(group.weights) - listed)):
                raise ValueError(f"group {name!r} weights name non-members: {', '.join(extra)}")
        return self


@dataclass(frozen=True)
class Problem:
    level: Literal["error", "warning"]
    where: str
    message: str

    def __str__(self) -> str:
        return f"[{'错误' if self.level == 'error' else '提醒'}] {self.where}：{self.message}"


class RulesError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class RepRef:
    key: str  # as written in the file
    member_id: int
    name: str
    team_id: int
    active: bool


@dataclass
class Rules:
    spec: RuleFile
    reps: dict[str, RepRef]  # str(member spec) -> member
    pool_team_id: int | None
    rule_pool_teams: dict[str, int] = field(default_factory=dict)
    path: Path | None = None

    def group_reps(self, group: str) -> list[RepRef]:
        return [self.reps[str(m)] for m in self.spec.groups[group].members if str(m) in self.reps]


@dataclass
class LeadFacts:
    """What the rules look at."""

    channel: str
    channel_known: bool = True
    region: str | None = None
    industry: str | None = None
    product: str | None = None
    grade: str | None = None
    campaign: str | None = None
    score: int | None = None  # the lead score at intake (profile; bot/scoring), for `score` conditions

    def describe(self) -> str:
        """The opening of every reason: 抖音线索，华东区域，制造业."""
        parts = [f"{self.channel}线索" if self.channel_known else f"未知渠道「{self.channel}」线索（已标记）"]
        if self.region:
            parts.append(f"{self.region}区域")
        if self.industry:
            parts.append(self.industry)
        if self.product:
            parts.append(f"意向{self.product}")
        if self.grade:
            parts.append(f"{self.grade}级客户")
        return "，".join(parts)


_SCORE_RE = re.compile(r"^\s*(?:(>=|<=|>|<|=)?\s*(\d{1,4})|(\d{1,4})\s*-\s*(\d{1,4}))\s*$")


def parse_score_condition(text: str) -> tuple[int, int] | None:
    """The inclusive range a score condition allows, or None when it is not one."""
    m = _SCORE_RE.match(text)
    if m is None:
        return None
    if m.group(3) is not None:
        low, high = int(m.group(3)), int(m.group(4))
        return (low, high) if low <= high else None
    op, value = m.group(1) or ">=", int(m.group(2))
    return {">=": (value, 10**6), ">": (value + 1, 10**6), "<=": (-(10**6), value), "<": (-(10**6), value - 1),
            "=": (value, value)}[op]


def score_mismatch(rule: RuleSpec, score: int | None) -> str | None:
    if rule.score is None:
        return None
    allowed = parse_score_condition(rule.score)
    if score is None:
        return f"评分未知，规则要求 {rule.score.strip()}"
    if allowed is not None and not allowed[0] <= score <= allowed[1]:
        return f"评分 {score} 不满足 {rule.score.strip()}"
    return None


_parsed: dict[Path, tuple[float, RuleFile]] = {}


def parse_rule_text(text: str, where: str = "规则文件") -> RuleFile:
    try:
        return RuleFile.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise RulesError([Problem("error", where, f"TOML 格式错误：{exc}")]) from None
    except ValidationError as exc:
        problems = [
            Problem("error", ".".join(str(p) for p in e["loc"]) or where, e["msg"].removeprefix("Value error, "))
            for e in exc.errors()
        ]
        raise RulesError(problems) from None


def read_rule_file(path: Path) -> RuleFile:
    try:
        mtime = path.stat().st_mtime
    except OSError as exc:
        raise RulesError([Problem("error", str(path), f"无法读取：{exc.strerror}")]) from None
    cached = _parsed.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    spec = parse_rule_text(path.read_text(encoding="utf-8"), str(path))
    _parsed[path] = (mtime, spec)
    return spec


def resolve_rules(*, session: Session, spec: RuleFile, channels: ChannelTable, path: Path | None = None,
                  ) -> tuple[Rules, list[Problem]]:
    """Bind names to members and teams; errors make the file unusable, warnings do not."""
    problems: list[Problem] = []
    members = list(session.exec(select(Member)).all())
    teams = {t.id: t for t in session.exec(select(Team).order_by(col(Team.id))).all()}
    reps: dict[str, RepRef] = {}
    for gname, group in spec.groups.items():
        for ref in group.members:
            key = str(ref)
            if key in reps:
                continue
            found = _find_member(ref, members, teams)
            if len(found) != 1:
                why = "找不到这位成员" if not found else "有重名，请写成「团队/姓名」或成员编号"
                problems.append(Problem("error", f"groups.{gname}", f"{key}：{why}"))
                continue
            m = found[0]
            reps[key] = RepRef(key, m.id or 0, m.display_name, m.team_id, m.active)
            if not m.active:
                problems.append(Problem("warning", f"groups.{gname}", f"{m.display_name} 已停用，分配时会跳过"))
    for rule in spec.rules:
        for value in rule.channel:
            if not channels.is_known(value):
                why = f"渠道「{value}」不在渠道表里，只会匹配原样的来源"
                problems.append(Problem("warning", f"rules.{rule.name}", why))
    pool_team_id = _team_id(spec.pool_team, teams, "pool_team", problems) if spec.pool_team is not None else (
        next(iter(teams), None))
    rule_pool = {r.name: t for r in spec.rules if r.pool_team is not None
                 and (t := _team_id(r.pool_team, teams, f"rules.{r.name}.pool_team", problems)) is not None}
    if not spec.rules:
        problems.append(Problem("warning", "rules", "没有任何规则，所有线索都会进入公海"))
    return Rules(spec, reps, pool_team_id, rule_pool, path), problems


def _find_member(ref: str | int, members: list[Member], teams: dict[int | None, Team]) -> list[Member]:
    if isinstance(ref, int):
        return [m for m in members if m.id == ref]
    team_name, _, name = ref.rpartition("/")
    return [m for m in members if m.display_name == name.strip()
            and (not team_name or teams.get(m.team_id) is not None and teams[m.team_id].name == team_name.strip())]


def _team_id(ref: str | int, teams: dict[int | None, Team], where: str, problems: list[Problem]) -> int | None:
    found = [t.id for t in teams.values() if (t.id == ref if isinstance(ref, int) else t.name == ref)]
    if len(found) != 1:
        problems.append(Problem("error", where, f"找不到团队「{ref}」" if not found else f"团队「{ref}」有重名"))
        return None
    return found[0]


def load_rules(*, session: Session, rules_file: Path | None, channels: ChannelTable) -> Rules:
    """The usable rules, or RulesError listing every error (warnings are ignored here)."""
    spec = read_rule_file(rules_file) if rules_file is not None else RuleFile()
    rules, problems = resolve_rules(session=session, spec=spec, channels=channels, path=rules_file)
    errors = [p for p in problems if p.level == "error"]
    if errors:
        raise RulesError(errors)
    return rules


def _norm(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip().casefold()


def rule_mismatches(rule: RuleSpec, lead: LeadFacts, channels: ChannelTable) -> list[str]:
    """Why the rule does not fire for this lead, one line per failed condition; empty: it fires."""
    out = []
    for key in MATCH_KEYS:
        wanted: list[str] = getattr(rule, key)
        if not wanted:
            continue
        value: str | None = getattr(lead, key)
        if key == "channel":
            allowed = {_norm(channels.resolve(w).name) for w in wanted} | {_norm(w) for w in wanted}
        else:
            allowed = {_norm(w) for w in wanted}
        if not value:
            out.append(f"{LABELS[key]}未填写，规则要求 {'/'.join(wanted)}")
        elif _norm(value) not in allowed:
            out.append(f"{LABELS[key]} {value} 不在 {'/'.join(wanted)} 之内")
    if (why := score_mismatch(rule, lead.score)) is not None:
        out.append(why)
    return out
