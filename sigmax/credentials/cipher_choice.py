"""Which cipher encrypts exchange credentials: Vault transit when Vault is configured,
else the local key (with a warning, logged once per process and shown in health).

A configured Vault that is unreachable is an error, never a silent switch to the local
key: the two ciphers cannot read each other's ciphertexts.
"""

from __future__ import annotations

from typing import Any

import structlog

from sigmax.credentials.cipher import Cipher, CipherKind
from sigmax.credentials.local_cipher import (
    WARNING,
    LocalKeyCipher,
    decode_key,
    load_or_create_key_file,
)
from sigmax.credentials.transit_cipher import TransitCipher
from sigmax.paths import sigmax_home
from sigmax.secrets import SecretsManager
from sigmax.secrets_config import SecretsConfig

KEY_FILE_NAME = "credentials.key"
_warned = False


def cipher_kind(config: SecretsConfig) -> CipherKind:
    """'transit' when Vault is configured, else 'local'."""
    return "transit" if config.not_configured_reason is None else "local"


def cipher_health(config: SecretsConfig) -> dict[str, Any]:
    """What health reports about credential encryption (from configuration alone)."""
    kind = cipher_kind(config)
    return {"credentials_cipher": kind, "warning": WARNING if kind == "local" else None}


def open_cipher(config: SecretsConfig, manager: SecretsManager | None = None) -> Cipher:
    """The cipher the configuration asks for; the local key file is made when missing."""
    if cipher_kind(config) == "transit":
        manager = manager if manager is not None else SecretsManager(config)
        return TransitCipher(manager, config.transit_mount, config.transit_key)
    _warn_once(config)
    if config.local_key is not None:
        key = decode_key(config.local_key.get_secret_value(), "SIGMAX_VAULT_LOCAL_KEY")
    else:
        key = load_or_create_key_file(config.local_key_file or sigmax_home() / KEY_FILE_NAME)
    return LocalKeyCipher(key)


def _warn_once(config: SecretsConfig) -> None:
    global _warned
    if not _warned:
        _warned = True
        structlog.get_logger("sigmax.credentials").warning(
            "credentials.local_key_encryption",
            warning=WARNING,
            reason=config.not_configured_reason,
        )
