"""Typed settings of the LLM chooser. Built by the caller (Django settings, a test, a worker)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class LLMConfig(BaseModel):
    """Where and how to ask the model. ``api_key`` unset means the LLM is not configured."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_key: SecretStr | None = None
    base_url: str | None = Field(
        default=None, description="OpenAI-compatible server, e.g. http://127.0.0.1:11434/v1 (None: OpenAI)."
    )
    model: str = "gpt-4o-mini"
    timeout_s: float = Field(default=20.0, gt=0.0, le=300.0)
    max_retries: int = Field(default=0, ge=0, le=5)
    temperature: float | None = Field(default=0.0, ge=0.0, le=2.0, description="None: not sent.")
    response_format: Literal["json_schema", "json_object", "none"] = "json_schema"
    max_reason_chars: int = Field(default=600, ge=20, le=4000)
    max_workers: int = Field(default=4, ge=1, le=32, description="LLM calls in flight at once per round.")

    @property
    def configured(self) -> bool:
        return self.api_key is not None and bool(self.api_key.get_secret_value().strip())

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> LLMConfig:
        """Read ``OPENAI_API_KEY``, ``OPENAI_BASE_URL``, ``OPTIONSBOT_LLM_MODEL`` and
        ``OPTIONSBOT_LLM_TIMEOUT_S`` from ``env`` (pass ``os.environ``); empty values are unset."""
        values: dict[str, object] = {}
        if env.get("OPENAI_API_KEY", "").strip():
            values["api_key"] = SecretStr(env["OPENAI_API_KEY"].strip())
        if env.get("OPENAI_BASE_URL", "").strip():
            values["base_url"] = env["OPENAI_BASE_URL"].strip()
        if env.get("OPTIONSBOT_LLM_MODEL", "").strip():
            values["model"] = env["OPTIONSBOT_LLM_MODEL"].strip()
        if env.get("OPTIONSBOT_LLM_TIMEOUT_S", "").strip():
            values["timeout_s"] = float(env["OPTIONSBOT_LLM_TIMEOUT_S"])
        return cls.model_validate(values)
