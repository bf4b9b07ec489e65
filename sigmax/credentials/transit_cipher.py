"""Encryption through Vault / OpenBao's transit engine: the key never leaves the server.

The transit engine must be enabled at ``transit_mount`` (``bao secrets enable transit``);
the named key (``transit_key``, type aes256-gcm96) is created on first use when missing.
Ciphertexts look like ``vault:v1:...``; after a key rotation in Vault new ones carry the
new version and old ones still decrypt.

Policy: ``update`` on ``<mount>/encrypt/<key>`` and ``<mount>/decrypt/<key>``; to have the
key made on first use also ``read`` and ``create`` on ``<mount>/keys/<key>``. A token that
may not read the key is taken to use one the operator made.
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections.abc import Callable
from typing import Any

import hvac
import hvac.exceptions

from sigmax.credentials.cipher import CipherError, CipherKind
from sigmax.secrets import SecretsAuthError, SecretsError, SecretsManager

CIPHERTEXT_PREFIX = "vault:v"


class TransitCipher:
    """Encrypts and decrypts with one named transit key through a :class:`SecretsManager`."""

    def __init__(self, manager: SecretsManager, mount: str, key_name: str) -> None:
        self._manager = manager
        self._mount = mount
        self._key = key_name
        self._key_ready = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"TransitCipher(mount={self._mount!r}, key={self._key!r})"

    @property
    def kind(self) -> CipherKind:
        return "transit"

    @property
    def warning(self) -> str | None:
        return None

    @property
    def where(self) -> str:
        return f"{self._mount}/keys/{self._key}"

    def ensure_key(self) -> None:
        """Create the transit key when it does not exist yet (once per cipher)."""
        with self._lock:
            if self._key_ready:
                return
            try:
                self._manager.vault_call(
                    f"read transit key {self.where}",
                    lambda c: c.secrets.transit.read_key(name=self._key, mount_point=self._mount),
                )
            except hvac.exceptions.InvalidPath:
                self._create_key()
            except SecretsAuthError:
                pass  # may only encrypt and decrypt: the operator made the key
            except SecretsError as exc:
                raise CipherError(str(exc)) from None
            self._key_ready = True

    def encrypt(self, plaintext: str) -> str:
        self.ensure_key()
        encoded = base64.b64encode(plaintext.encode()).decode()
        answer = self._vault(
            f"encrypt with transit key {self.where}",
            lambda c: c.secrets.transit.encrypt_data(
                name=self._key, plaintext=encoded, mount_point=self._mount
            ),
        )
        return str(answer["data"]["ciphertext"])

    def decrypt(self, ciphertext: str) -> str:
        if not ciphertext.startswith(CIPHERTEXT_PREFIX):
            raise CipherError("not a transit ciphertext (expected 'vault:v<version>:...')")
        answer = self._vault(
            f"decrypt with transit key {self.where}",
            lambda c: c.secrets.transit.decrypt_data(
                name=self._key, ciphertext=ciphertext, mount_point=self._mount
            ),
        )
        try:
            return base64.b64decode(answer["data"]["plaintext"]).decode()
        except (binascii.Error, ValueError, KeyError, TypeError):
            raise CipherError(f"transit key {self.where} returned no valid plaintext") from None

    def key_ref(self, ciphertext: str) -> str:
        version = ciphertext.split(":")[1] if ciphertext.startswith(CIPHERTEXT_PREFIX) else "?"
        return f"transit:{self._mount}/{self._key}:{version}"

    def _create_key(self) -> None:
        try:
            self._vault(
                f"create transit key {self.where}",
                lambda c: c.secrets.transit.create_key(
                    name=self._key, key_type="aes256-gcm96", mount_point=self._mount
                ),
            )
        except hvac.exceptions.InvalidPath:
            raise CipherError(
                f"no transit engine is mounted at {self._mount!r}: enable it "
                f"(`bao secrets enable -path={self._mount} transit`) or set "
                "SIGMAX_VAULT_TRANSIT_MOUNT"
            ) from None

    def _vault(self, what: str, call: Callable[[hvac.Client], Any]) -> Any:
        try:
            return self._manager.vault_call(what, call)
        except SecretsError as exc:
            raise CipherError(str(exc)) from None
