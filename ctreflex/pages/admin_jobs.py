"""/admin/jobs (admins). The platform operator: each platform job's last run, next run and last
error, and "Run now". A tenant admin: only their own account's runs (sync its templates,
recompute its usage) with "Run now" for those; never a platform job or another account's
figures. Both: this account's customer windows closing within the hour (keep-alive nudge)."""

from __future__ import annotations

import dataclasses

import reflex as rx

from ctreflex import db, routes
from ctreflex.components.layout import app_page
from ctreflex.jobs import scheduler, tasks
from ctreflex.pages.admin import admin_user, error_callout, notice_callout, page_body
from ctreflex.services import timefmt
from ctreflex.state.auth import AuthState


@dataclasses.dataclass(frozen=True)
class ClosingRow:
    conversation_id: int
    contact: str
    closes_at: str
    minutes_left: int
    href: str


class JobsState(AuthState):
    jobs: list[scheduler.JobRow] = []
    closing: list[ClosingRow] = []
    platform: bool = False  # the viewer is the platform operator
    leader: str = ""  # which process holds the scheduler lease (operator only)
    running: str = ""
    notice: str = ""
    error: str = ""

    def _refresh(self, user) -> None:
        fmt = lambda d: timefmt.format_local(d, user.timezone)  # noqa: E731
        self.platform = user.is_operator
        if user.is_operator:
            self.jobs = scheduler.overview(fmt=fmt)
            self.leader = scheduler.leader_text(fmt=fmt)
        else:
            self.jobs = scheduler.account_overview(account_id=user.account_id, fmt=fmt)
        with db.session_scope() as session:
            soon = tasks.windows_closing_soon(session=session, account_id=user.account_id)
        self.closing = [
            ClosingRow(
                conversation_id=w.conversation_id,
                contact=w.contact,
                closes_at=timefmt.format_local(w.closes_at, user.timezone),
                minutes_left=w.minutes_left,
                href=routes.conversation_url(w.conversation_id),
            )
            for w in soon
        ]

    @rx.event
    def load(self):
        self.notice = self.error = ""
        user = admin_user(self)
        if user is None:
            self.jobs, self.closing, self.platform = [], [], False
            return
        self._refresh(user)

    @rx.event(background=True)
    async def run_now(self, job_id: str):
        async with self:
            user = admin_user(self)
            if user is None or self.running:
                return
            self.notice = self.error = ""
            if user.is_operator:
                spec = scheduler.JOBS.get(job_id)
            else:
                spec = scheduler.ACCOUNT_JOBS.get(job_id)
            if spec is None:
                self.error = (
                    "Only the platform operator can run platform jobs."
                    if job_id in scheduler.JOBS
                    else "No such job."
                )
                return
            self.running = job_id
        try:
            if user.is_operator:
                result = await scheduler.run_job(job_id, trigger="manual")
            else:
                result = await scheduler.run_account_job(job_id, user.account_id)
        except Exception as exc:  # noqa: BLE001 - shown, and the run is recorded
            result = scheduler.RunResult(job_id, True, False, str(exc))
        async with self:
            title = spec.title
            if result.ran and result.ok:
                self.notice = f"{title}: {result.message}"
            elif result.ran:
                self.error = f"{title} failed: {result.message}"
            else:
                self.error = result.message
            self.running = ""
            self._refresh(user)


def _job_row(j: rx.Var[scheduler.JobRow]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.vstack(
                rx.text(j.title, weight="medium"),
                rx.text(j.description, size="1", color_scheme="gray"),
                rx.text(j.every, size="1", color_scheme="gray"),
                spacing="1",
                max_width="22rem",
            )
        ),
        rx.table.cell(
            rx.vstack(
                rx.text(j.last_run, white_space="nowrap"),
                rx.cond(
                    j.never_ran,
                    rx.fragment(),
                    rx.cond(
                        j.last_ok,
                        rx.text(j.last_result, size="1", color_scheme="gray"),
                        rx.badge(j.last_result, color_scheme="red"),
                    ),
                ),
                spacing="1",
            )
        ),
        rx.table.cell(j.next_run, white_space="nowrap"),
        rx.table.cell(
            rx.cond(
                j.last_error != "",
                rx.vstack(
                    rx.text(j.last_error_at, size="1", color_scheme="gray"),
                    rx.text(j.last_error, size="1", color="var(--red-11)"),
                    spacing="1",
                    max_width="20rem",
                ),
                rx.text("None", color_scheme="gray"),
            )
        ),
        rx.table.cell(
            rx.button(
                "Run now",
                size="1",
                variant="soft",
                loading=JobsState.running == j.id,
                disabled=JobsState.running != "",
                aria_label="Run now: " + j.title,
                on_click=JobsState.run_now(j.id),
                white_space="nowrap",
            )
        ),
        id="job-" + j.id,
    )


def _closing_row(c: rx.Var[ClosingRow]) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.link(c.contact, href=c.href)),
        rx.table.cell(c.closes_at),
        rx.table.cell(c.minutes_left.to_string() + " min"),
    )


def jobs_body() -> rx.Component:
    return page_body(
        rx.cond(
            JobsState.platform,
            rx.text(
                "Platform jobs: they touch every account. One process runs them even when the "
                "app runs with several workers. Run now works from any of them; a job never runs "
                "twice at once, nor again within 30 seconds of a Run now. ",
                JobsState.leader,
                size="2",
                color_scheme="gray",
            ),
            rx.text(
                "Runs for your account only. CT Text runs the platform's jobs (window sweep, "
                "usage roll-up, template sync, webhook journal replay, media retention) for every "
                "account on its own schedule. A run can be started again 30 seconds after the "
                "last one.",
                size="2",
                color_scheme="gray",
            ),
        ),
        notice_callout(JobsState.notice),
        error_callout(JobsState.error),
        rx.box(
            rx.table.root(
                rx.el.caption(
                    rx.cond(JobsState.platform, "Scheduled jobs", "Your account's jobs"),
                    class_name="sr-only",
                ),
                rx.table.header(
                    rx.table.row(
                        *[
                            rx.table.column_header_cell(h)
                            for h in ["Job", "Last run", "Next run", "Last error", "Action"]
                        ]
                    )
                ),
                rx.table.body(rx.foreach(JobsState.jobs, _job_row)),
                variant="surface",
                width="100%",
            ),
            overflow_x="auto",
            width="100%",
        ),
        rx.heading("Windows closing within the hour", size="3", as_="h2"),
        rx.text(
            "These customers' 24-hour windows close soon: a reply now still reaches them "
            "without a template.",
            size="2",
            color_scheme="gray",
        ),
        rx.cond(
            JobsState.closing.length() > 0,
            rx.box(
                rx.table.root(
                    rx.el.caption("Windows closing within the hour", class_name="sr-only"),
                    rx.table.header(
                        rx.table.row(
                            *[
                                rx.table.column_header_cell(h)
                                for h in ["Customer", "Closes at", "Time left"]
                            ]
                        )
                    ),
                    rx.table.body(rx.foreach(JobsState.closing, _closing_row)),
                    variant="surface",
                    width="100%",
                ),
                overflow_x="auto",
                width="100%",
            ),
            rx.callout("No window closes within the hour.", icon="info", variant="surface"),
        ),
    )


@rx.page(
    route=routes.ADMIN_JOBS,
    title="Jobs · CT Text",
    on_load=[AuthState.require_admin, JobsState.load],
)
def jobs_page() -> rx.Component:
    return app_page("Jobs", jobs_body, admin=True)
