"""The web dashboard's built files (``web/dist``, made by ``make web``) served at ``/``.

The directory is ``SIGMAX_WEB_DIST`` when set (an installed package or a Serve replica
whose working directory is elsewhere), else ``web/dist`` of the source tree this
package lives in. It is looked at on each request, so building while the API runs
works; when it is missing, ``/`` answers 503 and ``/assets/*`` 404, both saying how
to build it. ``/api/*`` is never touched (the API routers are matched first).
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

WEB_DIST_ENV = "SIGMAX_WEB_DIST"
_SOURCE_TREE_DIST = Path(__file__).resolve().parents[2] / "web" / "dist"


def web_dist() -> Path:
    """Where the dashboard's build output is expected (it may not exist yet)."""
    configured = os.environ.get(WEB_DIST_ENV)
    return Path(configured).expanduser().resolve() if configured else _SOURCE_TREE_DIST


def not_built(dist: Path, status: int = 503) -> JSONResponse:
    detail = (
        f"the web dashboard is not built: no {dist / 'index.html'}; run `make web` "
        f"(npm ci && npm run build in web/) or set {WEB_DIST_ENV} to a built web/dist"
    )
    return JSONResponse({"detail": detail, "code": "dashboard_not_built"}, status_code=status)


class _Assets(StaticFiles):
    """The bundles under ``/assets``; 404 with the build hint while nothing is built
    (Starlette's StaticFiles raises on a missing directory: a 500)."""

    def __init__(self, dist: Path) -> None:
        super().__init__(directory=dist / "assets", check_dir=False)
        self.dist = dist

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (self.dist / "assets").is_dir():
            await not_built(self.dist, 404)(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def mount_dashboard(app: FastAPI, dist: Path | None = None) -> Path:
    """Serve ``index.html`` at ``/`` and the hashed bundles under ``/assets``; returns
    the directory used."""
    where = dist or web_dist()

    async def index(request: Request) -> Response:
        page = where / "index.html"
        if not page.is_file():
            return not_built(where)
        return FileResponse(page, headers={"Cache-Control": "no-cache"})

    app.add_api_route("/", index, methods=["GET", "HEAD"], include_in_schema=False)
    app.mount("/assets", _Assets(where), "assets")
    return where
