"""API v1 routes of the core primitives: the activity log and the jobs."""

# No ``from __future__ import annotations`` here: Ninja resolves a handler's annotations in the
# globals of the function it registers, and ``@paginate`` wraps the handler in a function from
# ninja.pagination, where ``Query[ActivityFilters]`` as a string cannot be resolved (every
# GET /activities and the OpenAPI document then failed with a 500).
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import field_validator

from quanzi.api.pagination import Page
from quanzi.api.schemas import ERRORS
from quanzi.core import scheduling
from quanzi.core.errors import Conflict
from quanzi.core.models import Activity, ActivityKind, JobRun
from quanzi.core.money import CURRENCIES, Money
from quanzi.core.services.activity import activity_record

router = Router()


class ActivityIn(Schema):
    kind: str = Field(description="One of: " + ", ".join(ActivityKind.values))
    occurred_at: datetime | None = Field(None, description="Defaults to now.")
    member_id: int | None = None
    target_member_id: int | None = None
    community_id: int | None = None
    group_id: int | None = None
    channel: str = Field("", max_length=64)
    content: str = Field("", max_length=128)
    amount_minor: int | None = Field(None, description="Amount in minor units (fen).")
    currency: str = Field("CNY", max_length=8)
    object_type: str = Field("", max_length=64)
    object_id: str = Field("", max_length=64)
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("kind")
    @classmethod
    def known_kind(cls, value: str) -> str:
        if value not in ActivityKind.values:
            raise ValueError(f"unknown kind; use one of {', '.join(ActivityKind.values)}")
        return value

    @field_validator("currency")
    @classmethod
    def known_currency(cls, value: str) -> str:
        if value not in CURRENCIES:
            raise ValueError(f"unknown currency; use one of {', '.join(CURRENCIES)}")
        return value


class ActivityOut(Schema):
    id: int
    kind: str
    occurred_at: datetime
    recorded_at: datetime
    member_id: int | None
    target_member_id: int | None
    community_id: int | None
    group_id: int | None
    channel: str
    content: str
    amount_minor: int | None
    currency: str
    actor_id: int | None
    source: str
    object_type: str
    object_id: str
    data: dict[str, Any]


class ActivityFilters(Schema):
    kind: str | None = None
    member_id: int | None = None
    community_id: int | None = None
    group_id: int | None = None
    channel: str | None = None
    since: datetime | None = Field(None, description="occurred_at >= since")
    until: datetime | None = Field(None, description="occurred_at < until")


@router.get("/activities", response=list[ActivityOut], tags=["activity"])
@paginate(Page)
def activity_list(request: HttpRequest, filters: Query[ActivityFilters]) -> Any:
    """The activity log, newest first."""
    qs = Activity.objects.all()
    for name in ("kind", "member_id", "community_id", "group_id", "channel"):
        value = getattr(filters, name)
        if value is not None:
            qs = qs.filter(**{name: value})
    if filters.since:
        qs = qs.filter(occurred_at__gte=filters.since)
    if filters.until:
        qs = qs.filter(occurred_at__lt=filters.until)
    return qs


@router.post("/activities", response={201: ActivityOut, **ERRORS}, tags=["activity"])
def activity_create(request: HttpRequest, payload: ActivityIn) -> Status[Activity]:
    """Record a fact from outside (a group-chat bot, a shop, an import). Send an Idempotency-Key."""
    amount = (
        Money(payload.amount_minor, payload.currency) if payload.amount_minor is not None else None
    )
    activity = activity_record(
        kind=payload.kind,
        occurred_at=payload.occurred_at,
        member_id=payload.member_id,
        target_member_id=payload.target_member_id,
        community_id=payload.community_id,
        group_id=payload.group_id,
        channel=payload.channel,
        content=payload.content,
        amount=amount,
        actor_id=request.user.pk,
        source="api",
        object_type=payload.object_type,
        object_id=payload.object_id,
        data=payload.data,
    )
    return Status(201, activity)


class JobOut(Schema):
    name: str
    description: str
    every_seconds: int
    last_status: str | None
    last_started_at: datetime | None
    last_result: str


class JobRunOut(Schema):
    job: str
    slot: datetime
    status: str
    attempts: int
    started_at: datetime
    finished_at: datetime | None
    result: str
    error: str


@router.get("/jobs", response=list[JobOut], tags=["jobs"])
def job_list(request: HttpRequest) -> list[JobOut]:
    """Every scheduled job with its schedule and last run."""
    out = []
    for job in scheduling.registered():
        last = JobRun.objects.filter(job=job.name).order_by("-started_at").first()
        out.append(
            JobOut(
                name=job.name,
                description=job.description,
                every_seconds=int(job.every.total_seconds()),
                last_status=last.status if last else None,
                last_started_at=last.started_at if last else None,
                last_result=(last.result or last.error[-300:]) if last else "",
            )
        )
    return out


@router.post("/jobs/{name}/actions/run", response={200: JobRunOut, **ERRORS}, tags=["jobs"])
def job_run_now(request: HttpRequest, name: str) -> JobRun:
    """Run a job now, in a slot of its own, and return how it went."""
    run = scheduling.job_run(name, manual=True)
    if run is None:
        raise Conflict(
            _("Job %(name)s was started by someone else this very moment.") % {"name": name}
        )
    return run
