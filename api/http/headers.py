"""Headers on every answer, set by the outermost layer so that a 500 carries them too.

- ``X-VBA-Environment``: which environment answered (sandbox or production), always.
- API answers (everything outside ``/ui``) get ``X-Content-Type-Options: nosniff`` and
  ``Referrer-Policy: no-referrer``; the pages set their own (``api.web.PageHeaders``).
- ``Cache-Control: no-store`` on every API answer that did not choose its own (tokens,
  ``/auth/me``, bids, invoices and every download are nobody else's business), and on
  any download (``Content-Disposition``) that did not choose one; static files keep the
  cache ``api.web`` gives them.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_NOSNIFF = (b"x-content-type-options", b"nosniff")
_NO_REFERRER = (b"referrer-policy", b"no-referrer")
_NO_STORE = (b"cache-control", b"no-store")


def _is_page(path: str) -> bool:
    return path == "/ui" or path.startswith("/ui/")


class ResponseHeaders:
    """The ASGI middleware; ``api.http.app`` puts it outside Starlette's error layer."""

    def __init__(self, app: ASGIApp, env: str) -> None:
        self.app = app
        self.environment = (b"x-vba-environment", env.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        page = _is_page(path)
        static = path.startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                extra = [self.environment]
                if not page:
                    extra += [h for h in (_NOSNIFF, _NO_REFERRER) if h[0] not in names]
                download = b"content-disposition" in names
                if b"cache-control" not in names and (download or not (page or static)):
                    extra.append(_NO_STORE)
                message = {**message, "headers": [*headers, *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
