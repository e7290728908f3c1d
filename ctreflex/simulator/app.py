"""Assemble the ASGI app: Graph routes, control API and the customer-phone page."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response

from .control import build_control_router
from .errors import GraphError
from .graph import build_graph_router, error_response
from .phone import phone_page

if TYPE_CHECKING:
    from .core import Simulator

log = logging.getLogger("ctreflex.simulator")


def build_app(sim: Simulator) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await sim.start()
        try:
            yield
        finally:
            await sim.stop()

    async def ensure_started() -> None:
        # Mounted as a sub-app, our lifespan never runs: start the worker on first request.
        if not sim.dispatcher.running:
            await sim.start()

    app = FastAPI(
        title="WhatsApp Cloud API simulator",
        lifespan=lifespan,
        dependencies=[Depends(ensure_started)],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    @app.exception_handler(GraphError)
    async def graph_error(_: Request, exc: GraphError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        param = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query"))
        return error_response(GraphError(100, f"Invalid parameter: {param or 'request'}"))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:  # pragma: no cover
        log.exception("simulator bug")
        return error_response(GraphError(1, f"An unknown error occurred ({type(exc).__name__})",
                                         title="An unknown error occurred", http_status=500))

    @app.get("/", include_in_schema=False)
    async def index(request: Request) -> HTMLResponse:
        return HTMLResponse(phone_page(str(request.scope.get("root_path", "")).rstrip("/")))

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return Response(status_code=204)

    app.include_router(build_control_router(sim))
    app.include_router(build_graph_router(sim))
    return app
