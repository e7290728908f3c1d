"""Keyset paging: where the next page of a list or a thread starts (the sort key of the last
row shown), so a page costs the same however deep it is and no row is shown twice or skipped
when rows share a time. Never imports reflex."""

from __future__ import annotations

import dataclasses
import datetime as dt


@dataclasses.dataclass(frozen=True)
class ListCursor:
    """Where the list's next page starts: the sort key of the last row shown (keyset paging:
    the next page is the rows after it in the list's order, however many came before)."""

    last_at: dt.datetime | None
    expires_at: dt.datetime | None  # "closing" sort: the row's window end while it was open
    id: int

    def encode(self) -> str:
        def iso(at: dt.datetime | None) -> str:
            return at.isoformat() if at else ""

        return f"{iso(self.last_at)}|{iso(self.expires_at)}|{self.id}"

    @classmethod
    def decode(cls, text: str) -> ListCursor | None:
        try:
            last, expires, cid = (text or "").split("|")
            return cls(
                dt.datetime.fromisoformat(last) if last else None,
                dt.datetime.fromisoformat(expires) if expires else None,
                int(cid),
            )
        except ValueError:
            return None
