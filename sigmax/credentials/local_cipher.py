"""The local key-encryption fallback: AES-256-GCM with a key kept beside SIGMAX's data.

Used when no Vault is configured. The 32-byte key comes from ``SIGMAX_VAULT_LOCAL_KEY``
(urlsafe base64) or from a key file (default ``$SIGMAX_HOME/credentials.key``), created
with mode 0600 on first use; a key file that others may read is refused. Anyone who can
read that file and the database can decrypt the credentials, which is why the API's
health reports this mode as degraded.

Ciphertext: ``local:v1:<key id>:<urlsafe base64 of nonce + AES-GCM output>``, where the
key id is the first 8 hex digits of the key's sha256 (to say "wrong key" clearly).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sigmax.credentials.cipher import CipherError, CipherKind

PREFIX = "local:v1:"
KEY_BYTES = 32
NONCE_BYTES = 12
WARNING = "local key encryption, no Vault transit"
MAKE_KEY_HINT = (
    'make one with: python -c "import base64, os; '
    'print(base64.urlsafe_b64encode(os.urandom(32)).decode())"'
)


class LocalKeyCipher:
    """AES-256-GCM with one local key; see the module docstring for the format."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise CipherError(f"local credentials key must be {KEY_BYTES} bytes, got {len(key)}")
        self._aead = AESGCM(key)
        self._key_id = hashlib.sha256(key).hexdigest()[:8]

    def __repr__(self) -> str:
        return f"LocalKeyCipher(key_id={self._key_id!r})"

    @property
    def kind(self) -> CipherKind:
        return "local"

    @property
    def warning(self) -> str | None:
        return WARNING

    @property
    def key_id(self) -> str:
        return self._key_id

    def encrypt(self, plaintext: str) -> str:
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), None)
        return f"{PREFIX}{self._key_id}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, ciphertext: str) -> str:
        key_id, blob = _split(ciphertext)
        if key_id != self._key_id:
            raise CipherError(
                f"ciphertext was made with local key {key_id}, but the configured key is "
                f"{self._key_id}: restore the key file or SIGMAX_VAULT_LOCAL_KEY it was made with"
            )
        try:
            raw = base64.urlsafe_b64decode(blob)
            plain = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], None)
        except (binascii.Error, ValueError, InvalidTag):
            raise CipherError("local ciphertext is corrupt (authentication failed)") from None
        return plain.decode()

    def key_ref(self, ciphertext: str) -> str:
        return f"local:{_split(ciphertext)[0]}"


def _split(ciphertext: str) -> tuple[str, str]:
    if not ciphertext.startswith(PREFIX) or ciphertext.count(":") != 3:
        raise CipherError("not a local ciphertext (expected 'local:v1:<key id>:<data>')")
    _, _, key_id, blob = ciphertext.split(":")
    return key_id, blob


def decode_key(text: str, where: str) -> bytes:
    """The 32-byte key in urlsafe base64 ``text``; ``where`` names its source in errors."""
    try:
        key = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError):
        raise CipherError(f"{where}: not urlsafe base64; {MAKE_KEY_HINT}") from None
    if len(key) != KEY_BYTES:
        raise CipherError(
            f"{where}: decodes to {len(key)} bytes, need {KEY_BYTES}; {MAKE_KEY_HINT}"
        )
    return key


def load_or_create_key_file(path: Path) -> bytes:
    """The key in ``path``, made (mode 0600) when the file does not exist yet."""
    if not path.exists():
        _create_key_file(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise CipherError(
            f"credentials key file {path} has mode {mode:o}: others may read it; "
            f"run `chmod 600 {path}`"
        )
    return decode_key(path.read_text(), f"credentials key file {path}")


def _create_key_file(path: Path) -> None:
    # written in full under a temporary name, then linked into place: a process racing
    # us either links first (we read its key) or finds the complete file
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode() + "\n")
        with contextlib.suppress(FileExistsError):
            os.link(temp, path)
    finally:
        temp.unlink()
