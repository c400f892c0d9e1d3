"""The API's reference (Swagger UI at ``/docs``, ReDoc at ``/redoc``) from vendored files.

FastAPI's own pages load their scripts from a CDN and stay blank on a machine without
internet; these are the same pages with the scripts served by this server.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

VENDOR = "/static/vendor"
SWAGGER_JS = f"{VENDOR}/swagger-ui-5.36.0-bundle.js"
SWAGGER_CSS = f"{VENDOR}/swagger-ui-5.36.0.css"
FAVICON = f"{VENDOR}/swagger-ui-5.36.0-favicon-32x32.png"
REDOC_JS = f"{VENDOR}/redoc-2.5.4.standalone.js"


def install(app: FastAPI) -> None:
    """Serve ``/docs`` and ``/redoc`` (the app is created with both set to None)."""
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} — API reference",
            swagger_js_url=SWAGGER_JS,
            swagger_css_url=SWAGGER_CSS,
            swagger_favicon_url=FAVICON,
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} — API reference",
            redoc_js_url=REDOC_JS,
            redoc_favicon_url=FAVICON,
            with_google_fonts=False,
        )
