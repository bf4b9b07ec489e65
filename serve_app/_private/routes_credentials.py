"""/api/v1/credentials: operators' exchange credentials (admin scope).

Thin HTTP over ``sigmax.credentials.manager``: secrets arrive in request bodies, are
encrypted at once, and are never answered (only a masked hint) nor logged.
"""

# No `from __future__ import annotations`: Serve pickles nested dependency functions by
# value, and FastAPI must find real annotation objects on them, not strings.

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response

from serve_app._private.deps import AdminKey, backend_of, operator_of
from serve_app.exceptions import Unprocessable
from serve_app.schema import CredentialIn, CredentialOut, CredentialTestIn, CredentialUpdateIn
from sigmax.credentials.cipher import Cipher
from sigmax.credentials.cipher_choice import open_cipher
from sigmax.credentials.manager import CredentialManager, SecretFields
from sigmax.credentials.model import StoredCredential
from sigmax.credentials.repository import ExchangeCredentialRepository

router = APIRouter(tags=["credentials"])
CredentialId = Annotated[int, Path(ge=1, le=2**62)]


def exchange_classes() -> dict[str, Any]:
    """ccxt classes by exchange id used instead of ccxt's own: none in production; tests
    override this dependency with recorded-response doubles."""
    return {}


async def _cipher(request: Request) -> Cipher:
    cipher: Cipher | None = getattr(request.app.state, "credentials_cipher", None)
    if cipher is None:
        settings = backend_of(request).settings
        cipher = await asyncio.to_thread(open_cipher, settings.vault)
        request.app.state.credentials_cipher = cipher
    return cipher


async def credential_manager(
    request: Request,
    classes: dict[str, Any] = Depends(exchange_classes),  # noqa: B008
) -> CredentialManager:
    repo = ExchangeCredentialRepository(await backend_of(request).pool())
    return CredentialManager(repo, await _cipher(request), classes)


Manager = Annotated[CredentialManager, Depends(credential_manager)]


def _out(stored: StoredCredential) -> CredentialOut:
    return CredentialOut.model_validate(stored.public())


def _secret(value: Any) -> str | None:
    return None if value is None else str(value.get_secret_value())


@router.post("/credentials", response_model=CredentialOut, status_code=201)
async def create_credential(
    principal: AdminKey, manager: Manager, body: CredentialIn
) -> CredentialOut:
    """Store a credential encrypted; the answer holds only a masked hint of the key."""
    fields = SecretFields(
        body.api_key.get_secret_value(), body.secret.get_secret_value(), _secret(body.password)
    )
    created = await manager.create(
        body.name, body.exchange, fields, sandbox=body.sandbox, actor=operator_of(principal)
    )
    return _out(created)


@router.get("/credentials", response_model=list[CredentialOut])
async def list_credentials(_: AdminKey, manager: Manager) -> list[CredentialOut]:
    return [_out(c) for c in await manager.all()]


@router.get("/credentials/{credential_id}", response_model=CredentialOut)
async def get_credential(
    _: AdminKey, manager: Manager, credential_id: CredentialId
) -> CredentialOut:
    return _out(await manager.get(credential_id))


@router.put("/credentials/{credential_id}", response_model=CredentialOut)
async def update_credential(
    principal: AdminKey, manager: Manager, credential_id: CredentialId, body: CredentialUpdateIn
) -> CredentialOut:
    """Rename, switch sandbox, or rotate the secrets (api_key and secret together)."""
    if (body.api_key is None) != (body.secret is None):
        raise Unprocessable("to rotate, send api_key and secret together")
    if body.password is not None and body.api_key is None:
        raise Unprocessable("a new password goes with a new api_key and secret")
    fields = None
    if body.api_key is not None and body.secret is not None:
        fields = SecretFields(
            body.api_key.get_secret_value(), body.secret.get_secret_value(), _secret(body.password)
        )
    updated = await manager.update(
        credential_id,
        actor=operator_of(principal),
        name=body.name,
        fields=fields,
        sandbox=body.sandbox,
    )
    return _out(updated)


@router.delete("/credentials/{credential_id}", status_code=204, response_class=Response)
async def delete_credential(
    principal: AdminKey, manager: Manager, credential_id: CredentialId
) -> Response:
    await manager.delete(credential_id, actor=operator_of(principal))
    return Response(status_code=204)


@router.post("/credentials/{credential_id}/test", response_model=CredentialOut)
async def test_credential(
    principal: AdminKey, manager: Manager, credential_id: CredentialId, body: CredentialTestIn
) -> CredentialOut:
    """Check the credential with the exchange and record its permissions; a key with
    withdrawal rights is refused (status 'refused') unless ``allow_withdraw``."""
    tested = await manager.test(
        credential_id, allow_withdraw=body.allow_withdraw, actor=operator_of(principal)
    )
    return _out(tested)
