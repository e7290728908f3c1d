"""Media files, served only to signed-in users of the account that owns them.

A file is shown inline only when its stored bytes, sniffed again, are an allow-listed type
(JPEG, PNG, WebP, MP4, 3GPP, PDF) equal to the stored type; anything else is a download
(`application/octet-stream`, `attachment`). Every answer carries `nosniff` and
`Content-Security-Policy: sandbox` (no script, an opaque origin: even a file that slipped
through could not read the session or call the API). Inline files add `default-src 'none'`
with only their own image/media/object source. Checked in Chromium 156: its PDF viewer (the
out-of-process PDF frame) still shows a PDF inline under this policy, in a tab and in an iframe.

Also here: `UploadSizeLimit`, the ASGI guard in front of Reflex's upload endpoint that refuses
a body over the largest attachment limit from its Content-Length, or as its bytes arrive,
before the framework spools it.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from ctreflex.api.deps import SessionDep, UserDep
from ctreflex.models import MediaFile
from ctreflex.services import media

router = APIRouter()

ATTACHMENT_CSP = "sandbox"
INLINE_CSP = (
    "sandbox; default-src 'none'; img-src 'self'; media-src 'self'; object-src 'self'; "
    "style-src 'unsafe-inline'; frame-ancestors 'self'"
)


def media_headers(inline: bool) -> dict[str, str]:
    return {
        "Cache-Control": "private, max-age=3600",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": INLINE_CSP if inline else ATTACHMENT_CSP,
        "Cross-Origin-Resource-Policy": "same-origin",
    }


@router.get("/media/{media_id}")
def download(media_id: int, user: UserDep, session: SessionDep, download: bool = False):
    row = session.get(MediaFile, media_id)
    if row is None or row.account_id != user.account_id:
        raise HTTPException(status_code=404, detail="No such file.")
    if row.state != "ready":
        raise HTTPException(status_code=409, detail=row.fetch_error or "The file is not here yet.")
    path = media.absolute_path(row)
    if not path.is_file():
        raise HTTPException(status_code=410, detail="The file is no longer stored.")
    inline = media.inline_type(row, path)
    show = inline is not None and not download
    return FileResponse(
        path,
        media_type=inline or "application/octet-stream",
        filename=row.filename or row.kind or "file",  # always a Content-Disposition
        content_disposition_type="inline" if show else "attachment",
        headers=media_headers(show),
    )


# ------------------------------------------------------------------------ upload size guard

UPLOAD_PATH = "/_upload"  # Reflex's upload endpoint (reflex_base.constants.Endpoint.UPLOAD)
# the largest attachment plus room for the multipart envelope and the event's own fields
MAX_UPLOAD_REQUEST_BYTES = media.MAX_UPLOAD_BYTES + 1_000_000


class UploadSizeLimit:
    """ASGI middleware: a POST to the upload endpoint whose Content-Length is over the limit is
    answered 413 without reading its body; one without (or lying about) its length is cut off
    as soon as the bytes received pass the limit (the app sees a disconnect, the client a 413).
    The per-type limits (5 MB photos, 16 MB videos) are applied by the upload handler while it
    copies the file in chunks (ctreflex.services.media.store_upload_file)."""

    def __init__(self, app, max_bytes: int = MAX_UPLOAD_REQUEST_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, send) -> None:
        body = json.dumps(
            {"detail": f"Files can be at most {media.MAX_UPLOAD_BYTES // 1_000_000} MB."}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send) -> None:
        if not (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"].rstrip("/").endswith(UPLOAD_PATH)  # also under a backend_path
        ):
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        try:
            declared = int(length) if length is not None else None
        except ValueError:
            declared = None
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)
            return
        received = 0
        over = False
        started = False

        async def counted_receive():
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message) -> None:
            nonlocal started
            if over:
                return  # the app's answer to the cut-off body is replaced by the 413
            started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not over:
                raise
            # the app gave up on the cut-off body (e.g. Starlette's ClientDisconnect): our 413
        if over and not started:
            await self._refuse(send)
