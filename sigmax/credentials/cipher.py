"""What encrypts stored exchange credentials: the :class:`Cipher` interface and its errors."""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

from sigmax.errors import UnavailableError

CipherKind = Literal["transit", "local"]


class CipherError(UnavailableError):
    """Encryption or decryption failed; the message never holds plaintext or key material."""


@runtime_checkable
class Cipher(Protocol):
    """Turns a secret string into a self-describing ciphertext string and back."""

    @property
    def kind(self) -> CipherKind:
        """'transit' (Vault/OpenBao) or 'local' (key-encryption fallback)."""
        ...

    @property
    def warning(self) -> str | None:
        """Why this cipher is weaker than Vault transit, or None when it is transit."""
        ...

    def encrypt(self, plaintext: str) -> str:
        """The ciphertext of ``plaintext``; raises :class:`CipherError`."""
        ...

    def decrypt(self, ciphertext: str) -> str:
        """The plaintext of a ciphertext this cipher made; raises :class:`CipherError`."""
        ...

    def key_ref(self, ciphertext: str) -> str:
        """Which key (and version) made ``ciphertext``, e.g. 'transit/sigmax-creds:v1'."""
        ...
