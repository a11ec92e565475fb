"""Settings: environment variables `GENJIN_*` over an optional `genjin.toml` over defaults.

A bad value fails at start with a message that names the setting (see `load_settings`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

STAGES: tuple[str, ...] = ("初步接触", "需求确认", "方案演示", "合同洽谈", "已成交")
LOST_STAGE = "已流失"


class StageEvidence(BaseModel):
    """What a customer's confirmed follow-ups must show before entering a stage."""

    any_tags: list[str] = Field(default_factory=list)
    any_keywords: list[str] = Field(default_factory=list)
    needs_amount: bool = False


def _default_evidence() -> dict[str, StageEvidence]:
    return {
        "需求确认": StageEvidence(),
        "方案演示": StageEvidence(any_tags=["要演示"], any_keywords=["演示", "试用", "POC"]),
        "合同洽谈": StageEvidence(any_tags=["要报价", "合同法务"], any_keywords=["报价", "合同"]),
        "已成交": StageEvidence(any_tags=["合同法务", "付款回款"], any_keywords=["签约", "盖章", "首付", "回款"]),
    }


class WeComSettings(BaseModel):
    """A WeCom self-built app (自建应用). Set all of corp_id, agent_id, secret, token, aes_key to enable."""

    corp_id: str
    agent_id: int
    secret: str
    token: str
    encoding_aes_key: str = Field(min_length=43, max_length=43)
    api_base: str = "https://qyapi.weixin.qq.com"
    callback_path: str = "/wecom/callback"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GENJIN_",
        env_nested_delimiter="__",
        extra="forbid",
        toml_file="genjin.toml",
    )

    database_url: str = "sqlite:///./var/genjin.db"
    timezone: str = "Asia/Shanghai"
    data_dir: Path = Path("./var")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    log_format: str = "console"  # console | json
    log_level: str = "INFO"

    max_text_chars: int = Field(default=5000, ge=100)
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    max_audio_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    next_contact_max_days: int = Field(default=7, ge=1)
    tags_file: Path | None = None
    products: list[str] = Field(default_factory=lambda: ["移动CRM", "运输管理系统", "ERP", "SaaS"])
    stage_evidence: dict[str, StageEvidence] = Field(default_factory=_default_evidence)

    wecom: WeComSettings | None = None

    inbox_lease_seconds: int = Field(default=120, ge=1)
    inbox_max_attempts: int = Field(default=3, ge=1)
    outbox_max_attempts: int = Field(default=6, ge=1)
    worker_poll_seconds: float = Field(default=1.0, gt=0)

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
    def _supported_db(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
            raise ValueError("must start with sqlite: or postgresql:")
        return value

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        if value not in ("console", "json"):
            raise ValueError("must be 'console' or 'json'")
        return value

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
