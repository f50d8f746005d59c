"""API v1 routes of the members domain: members, their identities, consent, merge, export."""

# No ``from __future__ import annotations``: Ninja resolves a handler's annotations at import
# time in the globals of the function it registers (see quanzi.core.api).
from datetime import datetime, time
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import field_validator

from quanzi.api.pagination import Page
from quanzi.api.schemas import ERRORS, FORBIDDEN, PatchIn
from quanzi.core.errors import NotFound
from quanzi.members import selectors, services
from quanzi.members.models import IdentityKind, Level, Member, Stage

router = Router(tags=["members"])

_KINDS = ", ".join(IdentityKind.values)
_REVEAL_HELP = (
    "Show phone numbers and WeChat ids unmasked; needs the personal-data permission (else 403)."
)


class Reveal(Schema):
    reveal: bool = Field(False, description=_REVEAL_HELP)


class IdentityIn(Schema):
    kind: str = Field(description=f"One of: {_KINDS}")
    value: str = Field(max_length=200)
    namespace: str = Field(
        "", max_length=64, description="The appid of an openid; the platform of a buyer id."
    )


class IdentityOut(Schema):
    id: int
    kind: str
    namespace: str
    value: str = Field(description="Masked unless revealed.")
    masked: bool
    verified: bool


class MemberOut(Schema):
    id: int
    display_name: str
    note: str
    source_channel: str
    source_content: str
    tags: list[str]
    interests: list[str]
    categories: list[str]
    consent_at: datetime | None
    consent_version: str
    marketing_opt_out: bool
    opt_out_at: datetime | None
    quiet_start: time
    quiet_end: time
    stage: str
    level: str
    merged_into_id: int | None
    merged_at: datetime | None
    anonymised_at: datetime | None
    created_at: datetime
    updated_at: datetime
    identities: list[IdentityOut]


class MemberPage(Schema):
    items: list[MemberOut]
    count: int
    limit: int
    offset: int
    next_offset: int | None


class MemberFilters(Schema):
    q: str = Field("", description="A name, or exactly a phone, e-mail, WeChat id or #id.")
    tag: str = ""
    stage: str | None = Field(
        None, description="One of: " + ", ".join(repr(v) for v in Stage.values)
    )
    level: str = Field("", description="One of: " + ", ".join(Level.values))
    channel: str = Field("", description="The source channel.")

    @field_validator("stage")
    @classmethod
    def known_stage(cls, value: str | None) -> str | None:
        if value is not None and value not in Stage.values:
            raise ValueError(f"unknown stage; use one of {', '.join(Stage.values[1:])}")
        return value

    @field_validator("level")
    @classmethod
    def known_level(cls, value: str) -> str:
        if value and value not in Level.values:
            raise ValueError(f"unknown level; use one of {', '.join(Level.values)}")
        return value


class MemberCreateIn(Schema):
    display_name: str = Field(max_length=200)
    identities: list[IdentityIn] = Field(default_factory=list, max_length=20)
    source_channel: str = Field("", max_length=64)
    source_content: str = Field("", max_length=128)


class MemberUpdateIn(PatchIn):
    display_name: str | None = Field(None, max_length=200)
    note: str | None = Field(None, max_length=500)
    tags: list[str] | None = Field(None, max_length=50)
    interests: list[str] | None = None
    categories: list[str] | None = None
    quiet_start: time | None = Field(None, description="Start of quiet hours, like 22:00.")
    quiet_end: time | None = Field(None, description="End of quiet hours, like 08:00.")
    source_channel: str | None = Field(None, max_length=64)


class MergeIn(Schema):
    into_member_id: int = Field(description="The member that absorbs this one.")


class ConsentIn(Schema):
    version: str = Field(description="The version of the privacy notice agreed to.", max_length=32)


def _user(request: HttpRequest) -> AbstractBaseUser | AnonymousUser:
    return request.user


def _check_reveal(request: HttpRequest, reveal: bool) -> None:
    # Refused before anything is read, so an empty page is refused alike.
    if reveal and not selectors.can_see_personal_data(_user(request)):
        raise selectors.PermissionRefused(
            _("Seeing phone numbers and WeChat ids unmasked needs the personal-data permission."),
            field="reveal",
        )


def _member_out(request: HttpRequest, member: Member, reveal: bool) -> dict[str, Any]:
    if reveal:
        # Who saw whose phone number, and when, is recorded however it was seen.
        services.member_personal_data_revealed(member=member, actor_id=request.user.pk, what="api")
    return {
        "id": member.pk,
        "display_name": member.display_name,
        "note": member.note,
        "source_channel": member.source_channel,
        "source_content": member.source_content,
        "tags": [t.name for t in member.tags.all()],
        "interests": member.interests,
        "categories": member.categories,
        "consent_at": member.consent_at,
        "consent_version": member.consent_version,
        "marketing_opt_out": member.marketing_opt_out,
        "opt_out_at": member.opt_out_at,
        "quiet_start": member.quiet_start,
        "quiet_end": member.quiet_end,
        "stage": member.stage,
        "level": member.level,
        "merged_into_id": member.merged_into_id,
        "merged_at": member.merged_at,
        "anonymised_at": member.anonymised_at,
        "created_at": member.created_at,
        "updated_at": member.updated_at,
        "identities": selectors.identities_for(member, user=_user(request), reveal=reveal),
    }


def _fresh(request: HttpRequest, member: Member, reveal: bool) -> dict[str, Any]:
    return _member_out(request, selectors.member_get(member.pk), reveal)


@router.get("/members", response={200: MemberPage, **ERRORS, **FORBIDDEN})
def member_list(
    request: HttpRequest,
    filters: Query[MemberFilters],
    page: Query[Page.Input],
    disclosure: Query[Reveal],
) -> dict[str, Any]:
    """Members newest first; merged and deleted records are left out."""
    _check_reveal(request, disclosure.reveal)
    qs = selectors.member_list(
        q=filters.q,
        tag=filters.tag,
        stage=filters.stage,
        level=filters.level,
        channel=filters.channel,
    )
    paged = Page().paginate_queryset(qs, page, request)
    paged["items"] = [_member_out(request, m, disclosure.reveal) for m in paged["items"]]
    return paged


@router.post("/members", response={201: MemberOut, 200: MemberOut, **ERRORS, **FORBIDDEN})
def member_create(
    request: HttpRequest, payload: MemberCreateIn, disclosure: Query[Reveal]
) -> Status[dict[str, Any]]:
    """Identify a person: 201 with a new member, or 200 with the member one of the identities
    already belongs to (the others are attached to it). Identities of two different members:
    409 duplicate_identity."""
    _check_reveal(request, disclosure.reveal)
    member, created = services.member_identify(
        display_name=payload.display_name,
        identities=[services.IdentityIn(i.kind, i.value, i.namespace) for i in payload.identities],
        source_channel=payload.source_channel,
        source_content=payload.source_content,
        actor_id=request.user.pk,
    )
    return Status(201 if created else 200, _fresh(request, member, disclosure.reveal))


@router.get("/members/{member_id}", response={200: MemberOut, **ERRORS, **FORBIDDEN})
def member_get(request: HttpRequest, member_id: int, disclosure: Query[Reveal]) -> dict[str, Any]:
    """One member, merged or deleted ones included (``merged_into_id`` says where it went)."""
    _check_reveal(request, disclosure.reveal)
    return _member_out(request, selectors.member_get(member_id), disclosure.reveal)


@router.patch("/members/{member_id}", response={200: MemberOut, **ERRORS, **FORBIDDEN})
def member_update(
    request: HttpRequest, member_id: int, payload: MemberUpdateIn, disclosure: Query[Reveal]
) -> dict[str, Any]:
    """Change the fields sent; the others stay. ``tags`` replaces the member's tags."""
    _check_reveal(request, disclosure.reveal)
    member = services.member_update(
        member=selectors.member_get(member_id),
        actor_id=request.user.pk,
        **payload.model_dump(exclude_unset=True),
    )
    return _fresh(request, member, disclosure.reveal)


@router.post(
    "/members/{member_id}/identities",
    response={201: IdentityOut, 200: IdentityOut, **ERRORS, **FORBIDDEN},
)
def identity_add(
    request: HttpRequest, member_id: int, payload: IdentityIn, disclosure: Query[Reveal]
) -> Status[dict[str, Any]]:
    """Attach an identity: 201, or 200 when the member holds it already. Held by another member:
    409 duplicate_identity (merge the two instead)."""
    _check_reveal(request, disclosure.reveal)
    member = selectors.member_get(member_id)
    held = {i.pk for i in member.identities.all()}
    identity = services.identity_add(
        member=member,
        kind=payload.kind,
        value=payload.value,
        namespace=payload.namespace,
        actor_id=request.user.pk,
    )
    view = selectors.identity_view(identity, reveal=disclosure.reveal)
    return Status(200 if identity.pk in held else 201, view)


@router.delete("/members/{member_id}/identities/{identity_id}", response={204: None, **ERRORS})
def identity_remove(request: HttpRequest, member_id: int, identity_id: int) -> Status[None]:
    """Detach an identity from the member."""
    member = selectors.member_get(member_id)
    identity = next((i for i in member.identities.all() if i.pk == identity_id), None)
    if identity is None:
        raise NotFound(
            _("Member #%(member)s has no identity #%(identity)s.")
            % {"member": member_id, "identity": identity_id},
            field="identity",
        )
    services.identity_remove(identity=identity, actor_id=request.user.pk)
    return Status(204, None)


@router.post("/members/{member_id}/actions/merge", response={200: MemberOut, **ERRORS, **FORBIDDEN})
def member_merge(
    request: HttpRequest, member_id: int, payload: MergeIn, disclosure: Query[Reveal]
) -> dict[str, Any]:
    """Fold this member into ``into_member_id``, keeping everything of both; answers with the
    member that absorbed it. This record stays, pointing at it."""
    _check_reveal(request, disclosure.reveal)
    target = services.member_merge(
        source=selectors.member_get(member_id),
        target=selectors.member_get(payload.into_member_id),
        actor_id=request.user.pk,
    )
    return _fresh(request, target, disclosure.reveal)


@router.post(
    "/members/{member_id}/actions/opt-out", response={200: MemberOut, **ERRORS, **FORBIDDEN}
)
def member_opt_out(
    request: HttpRequest, member_id: int, disclosure: Query[Reveal]
) -> dict[str, Any]:
    """The member wants no marketing messages (service messages still reach them)."""
    _check_reveal(request, disclosure.reveal)
    member = services.member_set_marketing(
        member=selectors.member_get(member_id),
        opted_out=True,
        actor_id=request.user.pk,
        source="api",
    )
    return _fresh(request, member, disclosure.reveal)


@router.post(
    "/members/{member_id}/actions/opt-in", response={200: MemberOut, **ERRORS, **FORBIDDEN}
)
def member_opt_in(
    request: HttpRequest, member_id: int, disclosure: Query[Reveal]
) -> dict[str, Any]:
    """The member accepts marketing messages again."""
    _check_reveal(request, disclosure.reveal)
    member = services.member_set_marketing(
        member=selectors.member_get(member_id),
        opted_out=False,
        actor_id=request.user.pk,
        source="api",
    )
    return _fresh(request, member, disclosure.reveal)


@router.post(
    "/members/{member_id}/actions/consent", response={200: MemberOut, **ERRORS, **FORBIDDEN}
)
def member_consent(
    request: HttpRequest, member_id: int, payload: ConsentIn, disclosure: Query[Reveal]
) -> dict[str, Any]:
    """Record the member's consent to a version of the privacy notice."""
    _check_reveal(request, disclosure.reveal)
    member = services.member_record_consent(
        member=selectors.member_get(member_id), version=payload.version, actor_id=request.user.pk
    )
    return _fresh(request, member, disclosure.reveal)


@router.get("/members/{member_id}/export", response={200: dict[str, Any], **ERRORS, **FORBIDDEN})
def member_export(
    request: HttpRequest, member_id: int, disclosure: Query[Reveal]
) -> dict[str, Any]:
    """Everything held about the member (PIPL right of access), as JSON. Identities masked
    unless revealed."""
    _check_reveal(request, disclosure.reveal)
    member = selectors.member_get(member_id)
    data = selectors.member_data_export(member)
    data["identities"] = selectors.identities_for(
        member, user=_user(request), reveal=disclosure.reveal
    )
    if disclosure.reveal:
        services.member_personal_data_revealed(
            member=member, actor_id=request.user.pk, what="api_export"
        )
    return data


@router.post(
    "/members/{member_id}/actions/anonymise", response={200: MemberOut, **ERRORS, **FORBIDDEN}
)
def member_anonymise(
    request: HttpRequest, member_id: int, disclosure: Query[Reveal]
) -> dict[str, Any]:
    """Delete the member's personal data at their request; orders, memberships and ledger
    entries stay under the now nameless member id."""
    _check_reveal(request, disclosure.reveal)
    member = services.member_anonymise(
        member=selectors.member_get(member_id), actor_id=request.user.pk
    )
    return _fresh(request, member, disclosure.reveal)
