"""Where :class:`~sigmax.secrets.SecretsManager` finds Vault / OpenBao, and how it logs in.

Every field reads from ``SIGMAX_VAULT_<FIELD>`` (e.g. ``SIGMAX_VAULT_ADDR``). The address
and token also accept the standard ``VAULT_ADDR`` / ``VAULT_TOKEN`` and ``BAO_ADDR`` /
``BAO_TOKEN``, and the CA bundle ``VAULT_CACERT`` / ``BAO_CACERT``; the ``SIGMAX_`` name
wins when several are set. With no address, or an address but neither a token nor an
AppRole pair, the manager reads secrets from environment variables instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_SEGMENT = r"[A-Za-z0-9_-][A-Za-z0-9_.-]*"  # no '.' or '..' segments
_PATH_PART = rf"^{_SEGMENT}(/{_SEGMENT})*$"


class SecretsConfig(BaseSettings):
    """Connection, authentication, KV v2 layout and caching of the secrets backend."""

    model_config = SettingsConfigDict(
        env_prefix="SIGMAX_VAULT_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        populate_by_name=True,
        # a validation error would otherwise echo the raw input, token included
        hide_input_in_errors=True,
    )

    addr: str | None = Field(
        default=None,
        validation_alias=AliasChoices("SIGMAX_VAULT_ADDR", "VAULT_ADDR", "BAO_ADDR"),
        description="server URL, e.g. 'https://vault.internal:8200'; unset means env fallback",
    )
    token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SIGMAX_VAULT_TOKEN", "VAULT_TOKEN", "BAO_TOKEN"),
        description="token for token auth; ignored when role_id and secret_id are both set",
    )
    role_id: SecretStr | None = Field(
        default=None, description="AppRole role_id (AppRole auth, together with secret_id)"
    )
    secret_id: SecretStr | None = Field(default=None, description="AppRole secret_id")
    approle_mount: str = Field(
        default="approle", pattern=_PATH_PART, description="mount path of the AppRole auth method"
    )
    mount_point: str = Field(
        default="secret", pattern=_PATH_PART, description="mount path of the KV v2 engine"
    )
    base_path: str = Field(
        default="sigmax",
        pattern=rf"^({_SEGMENT}(/{_SEGMENT})*)?$",
        description="prefix of every secret path inside the mount; '' for the mount root",
    )
    verify: bool = Field(default=True, description="verify the server's TLS certificate")
    ca_cert: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("SIGMAX_VAULT_CA_CERT", "VAULT_CACERT", "BAO_CACERT"),
        description="CA bundle to verify the server certificate against (when verify is on)",
    )
    timeout_s: float = Field(default=5.0, gt=0, le=120, description="timeout of one request")
    cache_ttl_s: float = Field(
        default=300.0, ge=0, description="how long a read secret is kept in memory; 0 disables"
    )
    retry_after_s: float = Field(
        default=30.0,
        ge=0,
        description="after Vault was unreachable, wait this long before trying it again",
    )
    transit_mount: str = Field(
        default="transit",
        pattern=_PATH_PART,
        description="mount path of the transit engine that encrypts stored exchange credentials",
    )
    transit_key: str = Field(
        default="sigmax-exchange-credentials",
        pattern=r"^[A-Za-z0-9_-]+$",
        description="transit key name for exchange credentials (created when missing)",
    )
    local_key: SecretStr | None = Field(
        default=None,
        description="without Vault: 32-byte urlsafe-base64 key that encrypts exchange "
        "credentials (instead of local_key_file)",
    )
    local_key_file: Path | None = Field(
        default=None,
        description="without Vault: key file for exchange credentials, made with mode 0600 "
        "when missing; unset means $SIGMAX_HOME/credentials.key",
    )

    @field_validator("addr")
    @classmethod
    def _check_addr(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"vault addr {value!r} must start with http:// or https://")
        return value

    @model_validator(mode="after")
    def _check_approle_pair(self) -> SecretsConfig:
        if (self.role_id is None) != (self.secret_id is None):
            given, missing = (
                ("role_id", "secret_id")
                if self.secret_id is None
                else (
                    "secret_id",
                    "role_id",
                )
            )
            raise ValueError(
                f"AppRole auth needs both role_id and secret_id: {given} is set but "
                f"{missing} is not (SIGMAX_VAULT_{missing.upper()})"
            )
        return self

    @property
    def auth_method(self) -> Literal["approle", "token", "none"]:
        """Which login the manager uses: AppRole wins over a token."""
        if self.role_id is not None and self.secret_id is not None:
            return "approle"
        if self.token is not None and self.token.get_secret_value():
            return "token"
        return "none"

    @property
    def not_configured_reason(self) -> str | None:
        """Why Vault cannot be used with this config, or None when it can be tried."""
        if self.addr is None:
            return "no vault address set (SIGMAX_VAULT_ADDR, VAULT_ADDR or BAO_ADDR)"
        if self.auth_method == "none":
            return (
                "no vault credentials set (SIGMAX_VAULT_TOKEN / VAULT_TOKEN / BAO_TOKEN, "
                "or SIGMAX_VAULT_ROLE_ID with SIGMAX_VAULT_SECRET_ID)"
            )
        return None
