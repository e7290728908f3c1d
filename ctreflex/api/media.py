"""Media files, served only to signed-in users of the account that owns them."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from ctreflex.api.deps import SessionDep, UserDep
from ctreflex.models import MediaFile
from ctreflex.services import media

router = APIRouter()


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
    return FileResponse(
        path,
        media_type=row.mime_type,
        filename=row.filename or None,
        content_disposition_type="attachment" if download else "inline",
        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
