"""/api/v1/quantum: the last portfolio optimisation the optimiser actor ran, and its
quantum circuit when a quantum solver ran."""

# No `from __future__ import annotations`: Serve pickles nested dependency functions by
# value, and FastAPI must find real annotation objects on them, not strings.

import asyncio
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from serve_app._private.backend import Backend
from serve_app._private.deps import BackendDep, ReadKey
from serve_app.exceptions import NotFound

router = APIRouter(prefix="/quantum", tags=["quantum"])


@router.get("/last", response_model=dict[str, Any])
async def quantum_last(backend: BackendDep, _: ReadKey) -> dict[str, Any]:
    """The last portfolio optimisation: weights, solver and why, the gap to the exact
    optimum and, when a quantum solver ran, its circuit (QASM 3 and a drawing)."""
    return await _last_optimisation(backend)


@router.get(
    "/last/circuit",
    response_model=None,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def quantum_circuit(
    backend: BackendDep,
    _: ReadKey,
    format: Annotated[
        Literal["drawing", "qasm"], Query(description="picture or QASM 3")
    ] = "drawing",
) -> PlainTextResponse:
    """The last quantum circuit as a text picture or as OpenQASM 3."""
    quantum = (await _last_optimisation(backend)).get("quantum")
    if not quantum:
        raise NotFound("the last optimisation ran no quantum circuit (solver classical)")
    return PlainTextResponse(quantum[format])


async def _last_optimisation(backend: Backend) -> dict[str, Any]:
    if not backend.ray_ready():
        raise NotFound("no optimisation has run yet (the API is not connected to Ray)")
    from serve_app._private.jobs import last_result

    result = await asyncio.to_thread(last_result, backend.config.actor_timeout_s)
    if result is None:
        raise NotFound("no optimisation has run yet: POST /api/v1/jobs/optimize")
    document: dict[str, Any] = json.loads(result.to_json())
    return document
