"""The scoring weights file (TOML): parsed and checked once per change (mtime), like the rules file."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_WEIGHTS = Path(__file__).with_name("lead_scoring.toml")
BEHAVIOUR_TYPES = ("page_view", "download", "webinar", "form_submit", "ad_click", "chat_reply")


class CompanySize(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contains: list[str] = Field(min_length=1)
    label: str
    points: int


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    industry: dict[str, int] = Field(default_factory=dict)
    region: dict[str, int] = Field(default_factory=dict)
    channel: dict[str, int] = Field(default_factory=dict)
    company_size: list[CompanySize] = Field(default_factory=list)


class BehaviourRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    types: list[Literal["page_view", "download", "webinar", "form_submit", "ad_click", "chat_reply"]] = Field(
        min_length=1)
    match: list[str] = Field(default_factory=list)
    window_days: int = Field(ge=1, le=365)
    per: Literal["event", "minute", "once"] = "event"
    points: float
    min_count: int = Field(default=1, ge=1)
    max_points: int | None = Field(default=None, ge=0)
    text: str = Field(min_length=1)


class Weights(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_score: int = Field(default=100, ge=1)
    profile: Profile = Field(default_factory=Profile)
    behaviour: list[BehaviourRule] = Field(default_factory=list)

    @property
    def horizon_days(self) -> int:
        """How far back any rule looks: what re-scoring loads."""
        return max((r.window_days for r in self.behaviour), default=0)


class WeightsError(ValueError):
    """The weights file cannot be used; the message says where and why (Chinese, for the operator)."""


_cache: dict[Path, tuple[float, Weights]] = {}


def parse_weights(text: str, where: str = "评分权重文件") -> Weights:
    try:
        return Weights.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise WeightsError(f"{where}：TOML 格式错误：{exc}") from None
    except ValidationError as exc:
        problems = "；".join(f"{'.'.join(str(p) for p in e['loc'])}：{e['msg']}" for e in exc.errors())
        raise WeightsError(f"{where}：{problems}") from None


def load_weights(path: Path | None) -> Weights:
    """The weights in `path` (None: the shipped default), re-read when the file changes."""
    path = path or DEFAULT_WEIGHTS
    try:
        mtime = path.stat().st_mtime
    except OSError as exc:
        raise WeightsError(f"{path}：无法读取：{exc.strerror}") from None
    cached = _cache.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    weights = parse_weights(path.read_text(encoding="utf-8"), str(path))
    _cache[path] = (mtime, weights)
    return weights
