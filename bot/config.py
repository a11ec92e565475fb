"""Settings: environment variables `GENJIN_*` over an optional `genjin.toml` over defaults.

A bad value fails at start with a message that names the setting (see `load_settings`).
"""

from __future__ import annotations

import os
import string
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from store.stages import Stage, StageEvidence


def _default_evidence() -> dict[str, StageEvidence]:
    return {
        Stage.NEEDS_CONFIRMED: StageEvidence(),
        Stage.DEMO: StageEvidence(any_tags=["要演示"], any_keywords=["演示", "试用", "POC"]),
        Stage.NEGOTIATION: StageEvidence(any_tags=["要报价", "合同法务"], any_keywords=["报价", "合同"]),
        Stage.WON: StageEvidence(any_tags=["合同法务", "付款回款"], any_keywords=["签约", "盖章", "首付", "回款"]),
    }


class WeComSettings(BaseModel):
    """A WeCom self-built app (自建应用). Set all of corp_id, agent_id, secret, token, aes_key to enable."""

    corp_id: str
    agent_id: int
    # Secrets print as '**********' in repr, str and model_dump; .get_secret_value() where they are used.
    secret: SecretStr
    token: SecretStr
    encoding_aes_key: SecretStr = Field(min_length=43, max_length=43)
    api_base: str = "https://qyapi.weixin.qq.com"
    # The console's login (OAuth2 snsapi_base) sends the browser here; tests point it at the fake.
    oauth_base: str = "https://open.weixin.qq.com"
    callback_path: str = "/wecom/callback"
    # A callback whose signed timestamp is further than this from our clock (either way) gets 403.
    replay_window_seconds: int = Field(default=300, ge=1, le=24 * 3600)
    # message/send's duplicate check window (document/path/90236, at most 4 hours): a message re-sent
    # after a crash within this long is not shown twice. Longer than the outbox lease plus a restart.
    duplicate_check_seconds: int = Field(default=1800, ge=1, le=4 * 3600)


class DingTalkSettings(BaseModel):
    """An enterprise internal robot in Stream mode. Set client_id (AppKey), client_secret, robot_code."""

    client_id: str
    client_secret: SecretStr
    robot_code: str
    api_base: str = "https://api.dingtalk.com"
    oapi_base: str = "https://oapi.dingtalk.com"
    # The console's login (DingTalk OAuth2, authCode) sends the browser here; tests point it at the fake.
    login_base: str = "https://login.dingtalk.com"
    # The organisation's CorpId (开发者后台 home page). Set: the console signs members in silently inside
    # DingTalk (H5 免登, requestAuthCode); unset: DingTalk's OAuth2 redirect with one confirmation.
    corp_id: str | None = None
    # The id of bot/platforms/dingtalk/card_template.json once imported and published in DingTalk's card
    # builder (README "Connect to DingTalk"). Set: cards go through the card-instance API with Stream
    # callbacks and are updated in place on every tap. Unset: the older StandardCard robot cards.
    card_template_id: str | None = None


class ConsoleSettings(BaseModel):
    """The web console and record edit form under /console/ (bot/web)."""

    # The address people open, e.g. https://genjin.example.com: the OAuth redirect_uri and the links on
    # cards are built from it. None: taken from each request's Host (fine locally, not behind a proxy).
    public_url: str | None = None
    # Signs session cookies. None: a random key generated once and kept in data_dir/console_session.key.
    session_key: SecretStr | None = None
    session_hours: float = Field(default=12, gt=0, le=24 * 30)
    # Secure cookies: None decides per request (https public_url, or X-Forwarded-Proto https, or TLS).
    secure_cookies: bool | None = None

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value


class StaleThresholds(BaseModel):
    """Working hours without a follow-up before each rung of the stale-lead ladder."""

    remind_rep: float = Field(default=48, gt=0)
    alert_supervisor: float = Field(default=72, gt=0)
    high_risk: float = Field(default=120, gt=0)


def _default_stale() -> dict[str, StaleThresholds]:
    """Open stages only: a won or lost customer has no stale-lead ladder."""
    return {
        Stage.FIRST_CONTACT: StaleThresholds(), Stage.NEEDS_CONFIRMED: StaleThresholds(), Stage.DEMO: StaleThresholds(),
        Stage.NEGOTIATION: StaleThresholds(remind_rep=24, alert_supervisor=48, high_risk=96),
    }


def _default_talking_points() -> dict[str, str]:
    return {
        "价格异议": "强调总拥有成本：三年运维、实施与培训都已包含；可按年付款分摊。",
        "竞品对比": "准备与竞品的功能对照表，突出本地化服务与行业案例。",
        "决策链变更": "确认新的决策人和审批流程，争取与决策人直接见面。",
        "要报价": "带上最新报价单，说明各档位差异与优惠期限。",
        "要演示": "提前准备演示环境和客户行业的样例数据。",
        "合同法务": "带上合同修订稿，确认法务意见和盖章时间。",
        "付款回款": "核对回款计划与发票信息，确认付款节点。",
        "技术问题": "带上问题处理进展和技术负责人的联系方式。",
        "流失风险": "先倾听不满，准备补救方案，必要时请主管同行。",
    }


class PushSettings(BaseModel):
    """Scheduled pushes: pre-visit cards, stale-lead ladder, new-lead response, weekly report."""

    previsit_minutes: int = Field(default=15, ge=1, le=24 * 60)
    work_start: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    work_end: str = Field(default="18:00", pattern=r"^([01]\d|2[0-4]):[0-5]\d$")
    stale: dict[str, StaleThresholds] = Field(default_factory=_default_stale)
    new_lead_hours: float = Field(default=2, gt=0)
    snooze_days: int = Field(default=3, ge=1)
    exemption_days: int = Field(default=3, ge=1)
    talking_points: dict[str, str] = Field(default_factory=_default_talking_points)
    competitors: list[str] = Field(default_factory=lambda: ["东软", "用友", "金蝶", "销售易", "纷享销客", "Salesforce"])
    weekly_report_day: int = Field(default=0, ge=0, le=6)  # 0 = Monday
    # Post-visit prompt (scheduler/postvisit.py): a visit is taken to end visit_minutes after its
    # start; no memo or note from its rep about the customer within postvisit_hours of working time
    # after that end gets the rep one card asking stage, next action and next time.
    visit_minutes: int = Field(default=60, ge=1, le=24 * 60)
    postvisit_hours: float = Field(default=2, gt=0, le=72)
    weekly_report_time: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")


class AnomalySettings(BaseModel):
    """Anomaly review (scheduler/anomalies.py, README "Anomaly review"): data that looks wrong goes to
    the rep's supervisor and stays out of the reports until reviewed."""

    enabled: bool = True
    # 1. More than this many entries (follow-ups) by one rep in one local (Asia/Shanghai) day.
    daily_entries_max: int = Field(default=200, ge=1)
    # 2. More than this many stage changes by one rep within stage_window_minutes.
    stage_changes_max: int = Field(default=20, ge=1)
    stage_window_minutes: int = Field(default=10, ge=1, le=24 * 60)
    # 3. An amount more than amount_ratio times, or less than 1/amount_ratio of, the expected price.
    amount_ratio: float = Field(default=5.0, gt=1)
    # The fallback expected price (the team median for the product) needs this many other amounts.
    amount_min_samples: int = Field(default=3, ge=1)
    amount_lookback_days: int = Field(default=180, ge=1)
    # 4. Two different companies or roles for one customer within this many minutes.
    conflict_window_minutes: int = Field(default=60, ge=1, le=24 * 60)
class PromiseSettings(BaseModel):
    """The commitment ledger (scheduler/promises.py): reminder lead, nudge delay and 延期, in working time."""

    remind_before_hours: float = Field(default=4, gt=0)  # before the due time of a promise the rep made
    nudge_after_hours: float = Field(default=2, ge=0)  # after the due time of a promise the customer made
    postpone_days: int = Field(default=2, ge=1, le=30)  # one 延期 tap moves the due time this many working days


def _default_churn_tags() -> dict[str, float]:
    # Fitted by benchmarks/churn_eval.py (logistic model, points = 10 x log-odds) on seeds 1-3 of its
    # synthetic history v1 (400 customers each); see README for the held-out numbers.
    return {"流失风险": 12.7, "技术问题": 1.3, "价格异议": 0.0, "竞品对比": 3.8}


class ChurnWeights(BaseModel):
    """The churn-risk score's weights (scheduler/churn_score.py): points = weight x the signal's value.
    The defaults are fitted by benchmarks/churn_eval.py; every one may be set in the config."""

    silence: float = Field(default=4.2, ge=0)  # points per usual gap of silence beyond `silence_grace` gaps
    silence_grace: float = Field(default=1.5, ge=1)
    silence_cap: float = Field(default=25.2, ge=0)  # at most this from silence, and from slowdown
    default_cadence_days: float = Field(default=14.0, gt=0)  # fewer than three contacts: no own cadence yet
    min_cadence_days: float = Field(default=3.0, gt=0)
    slowdown: float = Field(default=2.1, ge=0)  # points per usual gap the latest gaps grew beyond it
    slowdown_grace: float = Field(default=1.5, ge=1)
    recent_gaps: int = Field(default=3, ge=1, le=10)  # the latest gaps compared with the usual one
    # At most this from one family (quiet; tags); the hand rule used 45 to demand two kinds of signal,
    # the fitted model adds freely (1000: off).
    family_cap: float = Field(default=1000.0, gt=0)
    tags: dict[str, float] = Field(default_factory=_default_churn_tags)  # per tag: 1, 1.5, 2 for 1, 2, 3+ times
    tag_window_days: int = Field(default=30, ge=1)
    # Accumulation: negative tags in the `tag_history_days` before the recent window (at most 3),
    # the share of the latest `recent_contacts` contacts carrying one (from 2 on), and silence after a
    # last contact that carried one (in usual gaps, at most 4).
    tag_earlier: float = Field(default=0.3, ge=0)
    tag_history_days: int = Field(default=90, ge=1)
    negative_share: float = Field(default=4.3, ge=0)
    recent_contacts: int = Field(default=5, ge=2, le=20)
    quiet_after_negative: float = Field(default=2.2, ge=0)
    broken_promise: float = Field(default=3.4, ge=0)  # per promise not kept by its due time (at most 3)
    promise_window_days: int = Field(default=60, ge=1)
    renewal: float = Field(default=8.7, ge=0)  # in full on the renewal day, falling to 0 at `renewal_days`
    renewal_days: int = Field(default=60, ge=1)
    # Silence together with another signal (points per usual gap of silence beyond one, times the
    # other's value): complaints in the latest 3 contacts (at most 2), broken promises (at most 2),
    # the renewal's nearness (0..1). Silence counts at most `interaction_silence_cap` usual gaps.
    silence_negative: float = Field(default=2.1, ge=0)
    silence_broken: float = Field(default=5.0, ge=0)
    silence_renewal: float = Field(default=2.3, ge=0)
    interaction_silence_cap: float = Field(default=6.0, gt=1)


class ChurnSettings(BaseModel):
    """Early churn warning (scheduler/churn.py): who is watched, when it runs, the hysteresis band."""

    stages: list[str] = Field(default_factory=lambda: [Stage.WON.value, Stage.NEGOTIATION.value])
    # Chosen by benchmarks/churn_eval.py on its training seeds: the best recall whose precision there is
    # at least 75% with 95% confidence (Wilson lower bound).
    alert_at: float = Field(default=55.0, gt=0)  # an episode opens (one push) at or above this score
    rearm_below: float = Field(default=45.0, ge=0)  # and closes below this one: the next crossing alerts again
    run_time: str = Field(default="08:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")  # daily, local time
    weights: ChurnWeights = Field(default_factory=ChurnWeights)


def _default_channels() -> dict[str, str]:
    """utm_source / channel codes -> the channel name people use; a name maps to itself too."""
    return {
        "dy": "抖音", "douyin": "抖音", "xhs": "小红书", "xiaohongshu": "小红书", "redbook": "小红书",
        "wx": "微信", "weixin": "微信", "wechat": "微信", "bd": "百度", "baidu": "百度",
        "zh": "知乎", "zhihu": "知乎", "wb": "微博", "weibo": "微博", "ks": "快手", "kuaishou": "快手",
        "bili": "B站", "bilibili": "B站", "web": "官网", "site": "官网", "website": "官网", "official": "官网",
        "expo": "展会活动", "event": "展会活动", "referral": "转介绍", "edm": "邮件营销", "email": "邮件营销",
    }


class LeadSettings(BaseModel):
    """Marketing intake and assignment (bot/leads): rules file, channel table, intake sources."""

    rules_file: Path | None = None  # TOML; none: every lead goes to the public pool (公海)
    channels: dict[str, str] = Field(default_factory=_default_channels)
    sources: dict[str, SecretStr] = Field(default_factory=dict)  # intake source name -> its bearer token
    pool_daily_claim_cap: int = Field(default=5, ge=0)
    rate_limit_per_minute: int = Field(default=60, ge=1)  # per source
    # POST /api/events (marketing behaviour), per source; a batch of up to 100 counts as one request.
    events_rate_limit_per_minute: int = Field(default=600, ge=1)
    skip_exemption_kinds: list[str] = Field(default_factory=lambda: ["免填"])  # exempted reps get no leads
    conversion_window_days: int = Field(default=30, ge=1)

    @field_validator("sources")
    @classmethod
    def _strong_tokens(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        weak = [name for name, token in value.items() if len(token.get_secret_value()) < 16]
        if weak:
            raise ValueError(f"tokens must be at least 16 characters: {', '.join(weak)}")
        if len({token.get_secret_value() for token in value.values()}) != len(value):
            raise ValueError("each source needs its own token")
        return value


# What a hand-off message may say (bot/handoffs.py fills them); another {name} fails at start.
HANDOFF_FIELDS = frozenset({"customer", "company", "stage", "owner", "summary", "goal", "promises"})


class HandoffRule(BaseModel):
    """Entering `stage` tells every member tagged with one of `roles` (`genjin members role`)."""

    model_config = ConfigDict(extra="forbid")
    stage: Stage
    roles: list[str] = Field(min_length=1)
    message: str = Field(min_length=1, max_length=1000)

    @field_validator("message")
    @classmethod
    def _known_fields(cls, value: str) -> str:
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as exc:
            raise ValueError(f"bad template: {exc}") from None
        if unknown := sorted(names - HANDOFF_FIELDS):
            raise ValueError(f"unknown fields {', '.join(unknown)}; use {', '.join(sorted(HANDOFF_FIELDS))}")
        return value


def _default_handoffs() -> list[HandoffRule]:
    return [
        HandoffRule(stage=Stage.DEMO, roles=["售前"],
                    message="{customer} 进入「方案演示」，请准备演示。\n演示目标：{goal}\n客户概况：{summary}"),
        HandoffRule(stage=Stage.NEGOTIATION, roles=["法务"],
                    message="{customer} 进入「合同洽谈」，请准备合同模板。\n客户概况：{summary}"),
        HandoffRule(stage=Stage.NEGOTIATION, roles=["财务"],
                    message="{customer} 进入「合同洽谈」，请做信用审核。\n客户概况：{summary}"),
        HandoffRule(stage=Stage.WON, roles=["交付", "客服"],
                    message="{customer} 已成交，请安排交付与服务。\n客户概况：{summary}\n待兑现的承诺：{promises}"),
    ]


class HandoffSettings(BaseModel):
    """Stage hand-offs to roles (bot/handoffs.py, scheduler/handoffs.py)."""

    model_config = ConfigDict(extra="forbid")
    # Working hours a role member has to tap 已接手 before their supervisor is told (once).
    accept_hours: float = Field(default=4, gt=0)
    rules: list[HandoffRule] = Field(default_factory=_default_handoffs)


def _default_recycle_days() -> dict[Stage, int]:
    return {Stage.FIRST_CONTACT: 60, Stage.NEEDS_CONFIRMED: 90}


class RecycleSettings(BaseModel):
    """Pool recycling (scheduler/recycle.py): a customer with no follow-up for N days goes back to the 公海."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    days: dict[Stage, int] = Field(default_factory=_default_recycle_days)  # stage -> N; absent stages stay
    warn_days_before: int = Field(default=3, ge=0)  # the owner's warning card comes at N - this
    cooling_days: int = Field(default=30, ge=0)  # a returned lead is not re-claimable by the same rep

    @field_validator("days")
    @classmethod
    def _positive(cls, value: dict[Stage, int]) -> dict[Stage, int]:
        if bad := sorted(str(s) for s, n in value.items() if n < 1):
            raise ValueError(f"days must be at least 1: {', '.join(bad)}")
        return value


class ApprovalSettings(BaseModel):
    """Approvals a rule asks for (`approval = true` on an assignment rule): escalation timer."""

    model_config = ConfigDict(extra="forbid")
    escalate_hours: float = Field(default=4, gt=0)  # working hours per level before it goes one up
    max_levels: int = Field(default=2, ge=0)  # how many times it may escalate (主管 → 总监 → ...)


CATALOG_UNITS = ("年", "套", "人", "次")


class CatalogItem(BaseModel):
    """One product of the catalog as written in genjin.toml ([[catalog.products]])."""

    name: str = Field(min_length=1, max_length=100)
    edition: str = Field(default="", max_length=50)
    unit_price: int = Field(gt=0, le=2**31 - 1)  # yuan per unit
    unit: str
    aliases: list[str] = Field(default_factory=list)

    @field_validator("unit")
    @classmethod
    def _known_unit(cls, value: str) -> str:
        if value not in CATALOG_UNITS:
            raise ValueError(f"unit must be one of {'/'.join(CATALOG_UNITS)}")
        return value


class CatalogSettings(BaseModel):
    """The product catalog amounts are picked from (bot/extract/products.py). The database's own
    catalog (`genjin catalog import|set|remove`) overrides these by name and edition."""

    products: list[CatalogItem] = Field(default_factory=list)

    @field_validator("products")
    @classmethod
    def _unique(cls, value: list[CatalogItem]) -> list[CatalogItem]:
        keys = [(p.name, p.edition) for p in value]
        dupes = sorted({f"{n} {e}".strip() for n, e in keys if keys.count((n, e)) > 1})
        if dupes:
            raise ValueError(f"duplicate products: {', '.join(dupes)}")
        return value
class ScoringSettings(BaseModel):
    """Lead scoring (bot/scoring): the weights file, the re-scoring timer, the daily top-leads push."""

    weights_file: Path | None = None  # TOML; None: the documented default, bot/scoring/lead_scoring.toml
    interval_minutes: int = Field(default=120, ge=1, le=24 * 60)  # the timer; new events re-score at once
    max_per_run: int = Field(default=200_000, ge=1)  # a backlog beyond this waits for the next run
    top_leads_time: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")  # local, daily
    top_leads_count: int = Field(default=5, ge=1, le=20)
    top_leads_min_score: int = Field(default=30, ge=0)
class OcrSettings(BaseModel):
    """Images and PDFs read offline (bot/ocr, RapidOCR PP-OCRv4 inside the wheel): `[ocr]` in genjin.toml."""

    max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)  # bigger files get a Chinese reply, no job
    max_pdf_pages: int = Field(default=10, ge=1)  # a longer PDF: its first pages are read, the reply says so
    # Decompression-bomb guard: an image with more pixels is refused before it is decoded.
    max_pixels: int = Field(default=40_000_000, ge=10_000)
    pdf_scale: float = Field(default=2.0, gt=0, le=4)  # PDF points -> pixels (2.0 = 144 dpi)
    cpu_threads: int = Field(default=2, ge=1)  # ONNX Runtime threads per OCR (benchmarks/ocr.py)
    det_max_side: int = Field(default=2000, ge=320, le=4000)  # text detection input, scaled down only
    concurrency: int = Field(default=1, ge=1)
    max_attempts: int = Field(default=3, ge=1)
    lease_seconds: int = Field(default=120, ge=5)  # renewed while a file is read
    ack_pages: int = Field(default=2, ge=1)  # a file with this many pages or more gets "正在识别…" at once


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GENJIN_",
        env_nested_delimiter="__",
        extra="forbid",
        toml_file="genjin.toml",
    )

    database_url: SecretStr = SecretStr("sqlite:///./var/genjin.db")  # its password must not reach a log
    timezone: str = "Asia/Shanghai"
    data_dir: Path = Path("./var")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    log_format: str = "console"  # console | json
    # When set, /status and /metrics answer only `Authorization: Bearer <ops_token>` (Prometheus:
    # `authorization: {credentials: …}`); /healthz and /readyz stay open for the orchestrator's probes.
    ops_token: SecretStr | None = None
    log_level: str = "INFO"

    max_text_chars: int = Field(default=5000, ge=100)
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    max_audio_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    # Seconds an idle connection, or one still sending its request headers, stays open (bot/http_edge.py).
    http_idle_timeout: float = Field(default=75.0, gt=0)
    # Seconds one request may take, body upload included; past it: 408 and the connection closed.
    http_request_timeout: float = Field(default=30.0, gt=0)
    next_contact_max_days: int = Field(default=7, ge=1)
    tags_file: Path | None = None
    products: list[str] = Field(default_factory=lambda: ["移动CRM", "运输管理系统", "ERP", "SaaS"])
    stage_evidence: dict[str, StageEvidence] = Field(default_factory=_default_evidence)
    # Tags and stage from the learned layer over the rules (bot/understanding/learned_layer.py); False:
    # the rules alone, for comparison (README "Learned tag and stage layer").
    learned_layer: bool = True

    pushes: PushSettings = Field(default_factory=PushSettings)
    promises: PromiseSettings = Field(default_factory=PromiseSettings)
    churn: ChurnSettings = Field(default_factory=ChurnSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    leads: LeadSettings = Field(default_factory=LeadSettings)
    handoffs: HandoffSettings = Field(default_factory=HandoffSettings)
    recycle: RecycleSettings = Field(default_factory=RecycleSettings)
    approvals: ApprovalSettings = Field(default_factory=ApprovalSettings)
    catalog: CatalogSettings = Field(default_factory=CatalogSettings)
    anomalies: AnomalySettings = Field(default_factory=AnomalySettings)
    scoring: ScoringSettings = Field(default_factory=ScoringSettings)
    ocr: OcrSettings = Field(default_factory=OcrSettings)
    wecom: WeComSettings | None = None
    dingtalk: DingTalkSettings | None = None

    inbox_lease_seconds: int = Field(default=120, ge=1)
    inbox_max_attempts: int = Field(default=3, ge=1)
    outbox_max_attempts: int = Field(default=6, ge=1)
    # A claimed outbox row is reclaimed by another sender after this long; longer than any one send
    # (WeCom/DingTalk calls time out after 10 s), so a slow send is not delivered twice.
    outbox_lease_seconds: int = Field(default=60, ge=1)
    worker_poll_seconds: float = Field(default=1.0, gt=0)
    # /readyz: a loop whose last heartbeat is older than factor x its poll interval (at least the
    # floor) is stale. The floor absorbs a slow database round or the first message's model load.
    readiness_stale_factor: float = Field(default=10.0, gt=1)
    readiness_min_stale_seconds: float = Field(default=60.0, ge=0)

    # Voice memos (bot/transcribe). None dirs: the pinned base model, joined under data_dir/models.
    whisper_model_dir: Path | None = None  # a larger CTranslate2 Whisper model directory instead
    whisper_cache_dir: Path | None = None
    # benchmarks/asr.py on the fixtures: beam 5 CER 0.08 at RTF 0.14; beam 1 CER 0.11 at RTF 0.10
    whisper_beam_size: int = Field(default=5, ge=1, le=10)
    whisper_cpu_threads: int = Field(default=1, ge=1)  # measured: 1 thread per transcription beats 2
    transcription_concurrency: int = Field(default=1, ge=1)
    transcription_max_attempts: int = Field(default=3, ge=1)
    transcription_lease_seconds: int = Field(default=60, ge=5)  # renewed while a memo is transcribed
    max_audio_seconds: int = Field(default=600, ge=1)
    voice_ack_seconds: float = Field(default=5.0, ge=0)  # longer memos get "正在识别…" at once

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_db(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
            raise ValueError("must start with sqlite: or postgresql:")
        return value

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        if value not in ("console", "json"):
            raise ValueError("must be 'console' or 'json'")
        return value

    @property
    def enabled_platforms(self) -> list[str]:
        """Where pushes can go, in order of preference; the sandbox is always on."""
        return [p for p, on in (("wecom", self.wecom), ("dingtalk", self.dingtalk)) if on] + ["sandbox"]

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = Path(os.environ.get("GENJIN_CONFIG", "genjin.toml"))
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_path),
        )


class SettingsError(SystemExit):
    """Raised at start-up; the message names every bad setting."""


def load_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]) or "(settings)"
            env = "GENJIN_" + name.upper().replace(".", "__")
            problems.append(f"  {name} ({env}): {err['msg']}")
        raise SettingsError("genjin: invalid configuration\n" + "\n".join(problems)) from None
