"""/api/v1/keys: API keys (admin scope); a new key's plaintext is answered once."""

# No `from __future__ import annotations`: Serve pickles nested dependency functions by
# value, and FastAPI must find real annotation objects on them, not strings.

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path

from serve_app._private import convert
from serve_app._private.backend import Backend
from serve_app._private.deps import AdminKey, BackendDep
from serve_app.schema import KeyIn, KeyOut, NewKeyOut
from sigmax.storage.repos.keys import ApiKeyRepository

KeyId = Annotated[int, Path(ge=1, le=2**62)]

router = APIRouter(prefix="/keys", tags=["keys"])


@router.post("", response_model=NewKeyOut, status_code=201)
async def create_key(backend: BackendDep, _: AdminKey, body: KeyIn) -> NewKeyOut:
    """A new key; the plaintext is in this answer only."""
    expires = None
    if body.expires_days is not None:
        expires = datetime.now(UTC) + timedelta(days=body.expires_days)
    key, plaintext = await (await _keys(backend)).create(
        body.name, sorted(set(body.scopes)), expires
    )
    return NewKeyOut(**convert.key_out(key).model_dump(), key=plaintext)


@router.get("", response_model=list[KeyOut])
async def list_keys(backend: BackendDep, _: AdminKey) -> list[KeyOut]:
    return [convert.key_out(k) for k in await (await _keys(backend)).all()]


@router.post("/{key_id}/revoke", response_model=KeyOut)
async def revoke_key(backend: BackendDep, _: AdminKey, key_id: KeyId) -> KeyOut:
    revoked = await (await _keys(backend)).revoke(key_id)
    backend.forget_key(key_id)
    return convert.key_out(revoked)


@router.post("/{key_id}/rotate", response_model=NewKeyOut)
async def rotate_key(backend: BackendDep, _: AdminKey, key_id: KeyId) -> NewKeyOut:
    """Replace a key by a new one (same name, scopes, expiry); the old one is revoked."""
    key, plaintext = await (await _keys(backend)).rotate(key_id)
    backend.forget_key(key_id)
    return NewKeyOut(**convert.key_out(key).model_dump(), key=plaintext)


async def _keys(backend: Backend) -> ApiKeyRepository:
    return ApiKeyRepository(await backend.pool())
