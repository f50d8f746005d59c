"""Writes of the members domain: identify, update, merge, consent, export, anonymise."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import time
from typing import Any

from django.core import signing
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from quanzi.core import clock, crypto
from quanzi.core.errors import ApplicationError, Conflict, NotFound
from quanzi.core.models import ActivityKind
from quanzi.core.services.activity import activity_record
from quanzi.members import hooks
from quanzi.members.identities import lookup_hash, masked, normalise
from quanzi.members.lifecycle import lifecycle_recompute_soon
from quanzi.members.models import Identity, Member, Tag
from quanzi.members.selectors import SIGN_IN_SALT


class MemberError(ApplicationError):
    code = "member_invalid"


class DuplicateIdentity(Conflict):
    code = "duplicate_identity"


@dataclass(frozen=True, slots=True)
class IdentityIn:
    kind: str
    value: str
    namespace: str = ""


def _validate_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise MemberError(_("A member needs a display name."), field="display_name")
    if len(name) > 100:
        raise MemberError(_("A display name is at most 100 characters."), field="display_name")
    return name


def _normalised(identities: Iterable[IdentityIn]) -> list[tuple[str, str, str, str]]:
    """(kind, namespace, value, hash) for each identity, duplicates within the call dropped."""
    seen: dict[str, tuple[str, str, str, str]] = {}
    for identity in identities:
        ns, value = normalise(identity.kind, identity.value, identity.namespace)
        digest = lookup_hash(identity.kind, ns, value)
        seen.setdefault(f"{identity.kind}/{ns}/{digest}", (identity.kind, ns, value, digest))
    return list(seen.values())


def _owners(normalised: Sequence[tuple[str, str, str, str]]) -> dict[tuple[str, str, str], int]:
    found: dict[tuple[str, str, str], int] = {}
    for kind, ns, _value, digest in normalised:
        hit = Identity.objects.filter(kind=kind, namespace=ns, value_hash=digest).first()
        if hit is not None:
            found[(kind, ns, digest)] = hit.member_id
    return found


def _attach(member: Member, kind: str, ns: str, value: str, digest: str) -> Identity:
    return Identity.objects.create(
        member=member,
        kind=kind,
        namespace=ns,
        value_hash=digest,
        value_encrypted=crypto.encrypt(value),
        value_masked=masked(kind, value),
    )


def _record(
    member_id: int,
    action: str,
    *,
    actor_id: int | None,
    kind: str = ActivityKind.MEMBER,
    object_type: str = "member",
    object_id: int | None = None,
    data: dict[str, Any] | None = None,
    **fields: Any,
) -> None:
    """One activity about a member record: what was done to it, and by whom."""
    activity_record(
        kind=kind,
        member_id=member_id,
        actor_id=actor_id,
        object_type=object_type,
        object_id=member_id if object_id is None else object_id,
        data={"action": action, **(data or {})},
        **fields,
    )


def member_identify(
    *,
    display_name: str,
    identities: Sequence[IdentityIn] = (),
    source_channel: str = "",
    source_content: str = "",
    actor_id: int | None = None,
) -> tuple[Member, bool]:
    """The member these identities belong to, created if none does; returns (member, created).

    An identity already known (same unionid, same phone, ...) attaches the others to its member.
    Identities that point at two different members are refused: an operator merges them first.
    """
    name = _validate_name(display_name)
    normalised = _normalised(identities)
    try:
        with transaction.atomic():
            owners = set(_owners(normalised).values())
            if len(owners) > 1:
                raise DuplicateIdentity(
                    _(
                        "These identities belong to different members (%(members)s); "
                        "merge them first."
                    )
                    % {"members": ", ".join(f"#{pk}" for pk in sorted(owners))},
                    field="identities",
                )
            created = not owners
            if created:
                member = Member.objects.create(
                    display_name=name,
                    source_channel=source_channel[:64],
                    source_content=source_content[:128],
                )
            else:
                member = Member.objects.select_for_update().get(pk=owners.pop())
                if member.merged_into_id or member.anonymised_at:
                    raise Conflict(
                        _("Member #%(member)s is closed.") % {"member": member.pk},
                        field="identities",
                    )
            known = {(i.kind, i.namespace, i.value_hash) for i in member.identities.all()}
            for kind, ns, value, digest in normalised:
                if (kind, ns, digest) not in known:
                    _attach(member, kind, ns, value, digest)
            activity_record(
                kind=ActivityKind.MEMBER,
                member_id=member.pk,
                actor_id=actor_id,
                channel=source_channel[:64] if created else "",
                object_type="member",
                object_id=member.pk,
                data={
                    "action": "created" if created else "identified",
                    "identities": sorted({k for k, *_rest in normalised}),
                },
            )
            return member, created
    except IntegrityError:
        # Another request attached the same identity a moment ago; it is known now.
        raise DuplicateIdentity(
            _("This identity was just added to a member; try again."), field="identities"
        ) from None


def identity_add(
    *, member: Member, kind: str, value: str, namespace: str = "", actor_id: int | None = None
) -> Identity:
    ((k, ns, normal, digest),) = _normalised([IdentityIn(kind, value, namespace)])
    with transaction.atomic():
        member = Member.objects.select_for_update().get(pk=member.pk)
        _ensure_open(member)
        owner = Identity.objects.filter(kind=k, namespace=ns, value_hash=digest).first()
        if owner is not None:
            if owner.member_id == member.pk:
                return owner
            raise DuplicateIdentity(
                _("This %(kind)s belongs to member #%(member)s; merge the two members instead.")
                % {"kind": k, "member": owner.member_id},
                field=k,
            )
        identity = _attach(member, k, ns, normal, digest)
        _record(
            member.pk,
            "identity_added",
            actor_id=actor_id,
            object_type="identity",
            object_id=identity.pk,
            data={"kind": k},
        )
        return identity


def identity_remove(*, identity: Identity, actor_id: int | None = None) -> None:
    with transaction.atomic():
        member_id, kind, pk = identity.member_id, identity.kind, identity.pk
        identity.delete()
        _record(
            member_id,
            "identity_removed",
            actor_id=actor_id,
            object_type="identity",
            object_id=pk,
            data={"kind": kind},
        )


def _ensure_open(member: Member) -> None:
    if member.merged_into_id:
        raise Conflict(
            _("Member #%(member)s was merged into #%(target)s.")
            % {"member": member.pk, "target": member.merged_into_id},
            field="member",
        )
    if member.anonymised_at:
        raise Conflict(
            _("Member #%(member)s was deleted at their request.") % {"member": member.pk},
            field="member",
        )


def _tags(names: Iterable[str]) -> list[Tag]:
    clean = []
    for name in names:
        name = name.strip()
        if not name:
            continue
        if len(name) > 50:
            raise MemberError(
                _("Tag %(tag)r… is longer than 50 characters.") % {"tag": name[:20]}, field="tags"
            )
        clean.append(name)
    tags = []
    for name in dict.fromkeys(clean):
        tag, _created = Tag.objects.get_or_create(name=name)
        tags.append(tag)
    return tags


def member_update(
    *,
    member: Member,
    actor_id: int | None = None,
    display_name: str | None = None,
    note: str | None = None,
    tags: Sequence[str] | None = None,
    interests: Sequence[str] | None = None,
    categories: Sequence[str] | None = None,
    quiet_start: time | None = None,
    quiet_end: time | None = None,
    source_channel: str | None = None,
) -> Member:
    """Change what is given; None leaves a field as it is."""
    with transaction.atomic():
        member = Member.objects.select_for_update().get(pk=member.pk)
        _ensure_open(member)
        changed: list[str] = []
        if display_name is not None:
            member.display_name = _validate_name(display_name)
            changed.append("display_name")
        if note is not None:
            if len(note) > 500:
                raise MemberError(_("A note is at most 500 characters."), field="note")
            member.note = note
            changed.append("note")
        for field, value in (("interests", interests), ("categories", categories)):
            if value is not None:
                items = [str(v).strip()[:40] for v in value if str(v).strip()]
                if len(items) > 30:
                    raise MemberError(_("At most 30 %(field)s.") % {"field": field}, field=field)
                setattr(member, field, list(dict.fromkeys(items)))
                changed.append(field)
        if quiet_start is not None:
            member.quiet_start = quiet_start
            changed.append("quiet_start")
        if quiet_end is not None:
            member.quiet_end = quiet_end
            changed.append("quiet_end")
        if source_channel is not None:
            member.source_channel = source_channel[:64]
            changed.append("source_channel")
        if changed:
            member.save(update_fields=[*changed, "updated_at"])
        if tags is not None:
            member.tags.set(_tags(tags))
            changed.append("tags")
        if changed:
            _record(member.pk, "updated", actor_id=actor_id, data={"fields": changed})
        return member


def member_set_marketing(
    *, member: Member, opted_out: bool, actor_id: int | None = None, source: str = ""
) -> Member:
    """Record a member's choice about marketing messages (service messages still reach them)."""
    with transaction.atomic():
        member = Member.objects.select_for_update().get(pk=member.pk)
        _ensure_open(member)
        if member.marketing_opt_out == opted_out:
            return member
        member.marketing_opt_out = opted_out
        member.opt_out_at = clock.now() if opted_out else None
        member.save(update_fields=["marketing_opt_out", "opt_out_at", "updated_at"])
        _record(
            member.pk, "opted_out" if opted_out else "opted_in", actor_id=actor_id, source=source
        )
        return member


def member_record_consent(*, member: Member, version: str, actor_id: int | None = None) -> Member:
    if not version or len(version) > 32:
        raise MemberError(_("Name the version of the privacy notice agreed to."), field="version")
    with transaction.atomic():
        member = Member.objects.select_for_update().get(pk=member.pk)
        _ensure_open(member)
        member.consent_at = clock.now()
        member.consent_version = version
        member.save(update_fields=["consent_at", "consent_version", "updated_at"])
        _record(member.pk, "consented", actor_id=actor_id, data={"version": version})
        return member


def member_merge(*, source: Member, target: Member, actor_id: int | None = None) -> Member:
    """Fold ``source`` into ``target``. Nothing of either is lost.

    Identities and tags move to the target, other apps re-point what they own (memberships,
    orders, wallets) through ``hooks.merge_handlers``, and the source row stays, pointing at the
    target, so that the activity log's entries under the old id keep counting for the person.
    """
    if source.pk == target.pk:
        raise MemberError(_("A member cannot be merged into itself."), field="target")
    with transaction.atomic():
        locked = {
            m.pk: m
            for m in Member.objects.select_for_update()
            .filter(pk__in=[source.pk, target.pk])
            .order_by("pk")
        }
        if len(locked) != 2:
            raise NotFound(_("No such member."), field="member")
        source, target = locked[source.pk], locked[target.pk]
        _ensure_open(source)
        _ensure_open(target)
        Identity.objects.filter(member=source).update(member=target)
        target.tags.add(*source.tags.all())
        target.interests = list(dict.fromkeys([*target.interests, *source.interests]))
        target.categories = list(dict.fromkeys([*target.categories, *source.categories]))
        if not target.source_channel:
            target.source_channel = source.source_channel
            target.source_content = source.source_content
        if source.created_at < target.created_at:
            # The person has been with the circle since the earlier of the two records.
            Member.objects.filter(pk=target.pk).update(created_at=source.created_at)
        target.save(update_fields=["interests", "categories", "source_channel", "source_content"])
        for handler in hooks.merge_handlers:
            handler(source, target)
        Member.objects.filter(merged_into=source).update(merged_into=target)
        source.merged_into = target
        source.merged_at = clock.now()
        source.save(update_fields=["merged_into", "merged_at", "updated_at"])
        _record(
            target.pk,
            "merged",
            actor_id=actor_id,
            target_member_id=source.pk,
            data={"source": source.pk},
        )
        target.refresh_from_db()
        lifecycle_recompute_soon(target.pk)  # both records' history now counts for one person
        return target


def member_anonymise(*, member: Member, actor_id: int | None = None) -> Member:
    """Delete a member's personal data at their request; money records stay, nameless.

    Identities (phone, WeChat ids, e-mail) are deleted, the profile is blanked; orders,
    memberships, ledger entries and the activity log keep the member id, which no longer leads
    to a person.
    """
    with transaction.atomic():
        member = Member.objects.select_for_update().get(pk=member.pk)
        _ensure_open(member)
        member.identities.all().delete()
        member.tags.clear()
        for handler in hooks.anonymise_handlers:
            handler(member)
        member.display_name = f"#{member.pk}"
        member.note = ""
        member.interests = []
        member.categories = []
        member.source_content = ""
        member.marketing_opt_out = True
        member.anonymised_at = clock.now()
        member.save()
        _record(member.pk, "anonymised", actor_id=actor_id)
        return member


def member_personal_data_revealed(
    *, member: Member, actor_id: int | None, what: str = "identities"
) -> None:
    """Record that an operator saw a member's personal data unmasked (PIPL: who looked, when).

    The caller has checked the permission; this only leaves the trace, in the activity log.
    """
    with transaction.atomic():
        _record(
            member.pk,
            "personal_data_revealed",
            actor_id=actor_id,
            kind=ActivityKind.OPERATOR,
            data={"what": what[:32]},
        )


def member_sign_in_token_create(*, member: Member, actor_id: int | None = None) -> str:
    """A personal sign-in token for the member pages, good for ``SIGN_IN_MAX_AGE`` seconds (a week).

    Signed, not stored: nothing to clean up, and a leaked database holds no live links. The
    caller delivers it (through the outbox) to the member's own phone or WeChat, never to the
    browser that asked for it.
    """
    with transaction.atomic():
        _ensure_open(member)
        token = signing.TimestampSigner(salt=SIGN_IN_SALT).sign(f"m{member.pk}")
        _record(member.pk, "sign_in_link_created", actor_id=actor_id)
        return token
