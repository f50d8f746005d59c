"""Reads of the members domain. Personal data leaves here masked unless asked for by someone
allowed to see it."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core import signing
from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from quanzi.core import crypto
from quanzi.core.errors import ApplicationError, NotFound
from quanzi.core.models import Activity
from quanzi.members import hooks
from quanzi.members.identities import IdentityInvalid, lookup_hash, normalise
from quanzi.members.models import Identity, IdentityKind, Member, Tag

PERSONAL_DATA_PERMISSION = "members.view_personal_data"


class PermissionRefused(ApplicationError):
    code = "forbidden"
    status = 403


def can_see_personal_data(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    if user is None or not user.is_active:
        return False
    return bool(getattr(user, "has_perm", lambda _: False)(PERSONAL_DATA_PERMISSION))


def member_list(
    *,
    q: str = "",
    tag: str = "",
    stage: str | None = None,
    level: str = "",
    channel: str = "",
    include_closed: bool = False,
) -> QuerySet[Member]:
    """Members newest first. ``q`` matches a name, or exactly a phone, e-mail or WeChat id."""
    qs = Member.objects.prefetch_related(
        "tags", Prefetch("identities", queryset=Identity.objects.order_by("kind", "pk"))
    )
    if not include_closed:
        qs = qs.filter(merged_into__isnull=True, anonymised_at__isnull=True)
    q = q.strip()
    if q:
        match = Q(display_name__icontains=q)
        owners = member_ids_by_identity_value(q)
        if owners:
            match |= Q(pk__in=owners)
        if q.lstrip("#").isdigit():
            match |= Q(pk=int(q.lstrip("#")))
        qs = qs.filter(match)
    if tag:
        qs = qs.filter(tags__name=tag)
    if stage is not None:
        qs = qs.filter(stage=stage)
    if level:
        qs = qs.filter(level=level)
    if channel:
        qs = qs.filter(source_channel=channel)
    return qs.distinct()


def member_ids_by_identity_value(text: str) -> list[int]:
    """Members holding an identity equal to ``text`` under any kind it can be read as."""
    hashes = []
    for kind in (
        IdentityKind.PHONE,
        IdentityKind.EMAIL,
        IdentityKind.WECHAT_UNIONID,
        IdentityKind.WECOM,
    ):
        try:
            ns, value = normalise(kind, text)
        except IdentityInvalid:
            continue
        hashes.append((kind, ns, lookup_hash(kind, ns, value)))
    if not hashes:
        return []
    match = Q()
    for kind, ns, digest in hashes:
        match |= Q(kind=kind, namespace=ns, value_hash=digest)
    return list(Identity.objects.filter(match).values_list("member_id", flat=True))


def member_get(pk: int) -> Member:
    member = Member.objects.prefetch_related("tags", "identities").filter(pk=pk).first()
    if member is None:
        raise NotFound(_("No member #%(pk)s.") % {"pk": pk}, field="member")
    return member


def member_current(member: Member) -> Member:
    """The record that absorbed ``member``, if it was merged; else ``member`` itself."""
    return member.merged_into if member.merged_into_id and member.merged_into else member


def member_ids_for(member: Member) -> list[int]:
    """Every id the activity log may hold for this person: theirs and the merged ones."""
    return [member.pk, *Member.objects.filter(merged_into=member).values_list("pk", flat=True)]


def identity_view(identity: Identity, *, reveal: bool) -> dict[str, Any]:
    return {
        "id": identity.pk,
        "kind": identity.kind,
        "namespace": identity.namespace,
        "value": crypto.decrypt(identity.value_encrypted) if reveal else identity.value_masked,
        "masked": not reveal,
        "verified": identity.verified,
    }


def identities_for(
    member: Member, *, user: AbstractBaseUser | AnonymousUser | None, reveal: bool = False
) -> list[dict[str, Any]]:
    """A member's identities; unmasked only when asked and allowed."""
    if reveal and not can_see_personal_data(user):
        raise PermissionRefused(
            _("Seeing phone numbers and WeChat ids unmasked needs the personal-data permission."),
            field="reveal",
        )
    return [identity_view(i, reveal=reveal) for i in member.identities.all()]


def member_phone_masked(member: Member) -> str:
    for identity in member.identities.all():
        if identity.kind == IdentityKind.PHONE:
            return identity.value_masked
    return ""


def member_data_export(member: Member) -> dict[str, Any]:
    """Everything Quanzi holds about a member, for the member (PIPL: right of access)."""
    ids = member_ids_for(member)
    data: dict[str, Any] = {
        "member": {
            "id": member.pk,
            "display_name": member.display_name,
            "created_at": member.created_at.isoformat(),
            "source_channel": member.source_channel,
            "tags": [t.name for t in member.tags.all()],
            "interests": member.interests,
            "categories": member.categories,
            "marketing_opt_out": member.marketing_opt_out,
            "consent_at": member.consent_at.isoformat() if member.consent_at else None,
            "consent_version": member.consent_version,
            "quiet_hours": [member.quiet_start.isoformat(), member.quiet_end.isoformat()],
            "stage": member.stage,
            "level": member.level,
        },
        "identities": [identity_view(i, reveal=True) for i in member.identities.all()],
        "activity": [
            {
                "kind": a.kind,
                "occurred_at": a.occurred_at.isoformat(),
                "channel": a.channel,
                "amount_minor": a.amount_minor,
                "currency": a.currency,
            }
            for a in Activity.objects.filter(member_id__in=ids).order_by("occurred_at", "pk")
        ],
    }
    for name, section in hooks.export_sections.items():
        data[name] = section(member)
    return data


def tag_names() -> list[str]:
    return list(Tag.objects.values_list("name", flat=True))


def member_source_channels() -> list[str]:
    """Every channel members came from, for filters."""
    return list(
        Member.objects.exclude(source_channel="")
        .order_by("source_channel")
        .values_list("source_channel", flat=True)
        .distinct()
    )


# Personal sign-in links for the member pages (made by members.services.member_sign_in_token_create).
SIGN_IN_SALT = "quanzi.members.sign-in"
SIGN_IN_MAX_AGE = 7 * 24 * 3600


class SignInLinkInvalid(ApplicationError):
    code = "sign_in_link_invalid"
    status = 410


def member_by_sign_in_token(token: str, *, max_age: int | None = None) -> Member:
    """The member a personal sign-in link was made for (the record that absorbed them, if
    merged); SignInLinkInvalid when the link is altered, too old, or its member deleted."""
    signer = signing.TimestampSigner(salt=SIGN_IN_SALT)
    try:
        value = signer.unsign(token, max_age=SIGN_IN_MAX_AGE if max_age is None else max_age)
    except signing.SignatureExpired:
        raise SignInLinkInvalid(_("This sign-in link has expired."), field="token") from None
    except signing.BadSignature:
        raise SignInLinkInvalid(_("This sign-in link is not valid."), field="token") from None
    pk = value.removeprefix("m")
    member = Member.objects.filter(pk=int(pk)).first() if pk.isdigit() else None
    if member is not None:
        member = member_current(member)
    if member is None or not member.is_active_record:
        raise SignInLinkInvalid(_("This sign-in link is no longer valid."), field="token")
    return member
