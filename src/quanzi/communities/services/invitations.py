"""Using an invitation: the one place that decides what a code leads to."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from quanzi.communities.models import Community, GroupMembership, Invitation, Membership
from quanzi.communities.services.joining import group_join, invitation_consume
from quanzi.communities.services.memberships import membership_start
from quanzi.members.models import Member
from quanzi.outbox.models import OutboxMessage, Purpose
from quanzi.outbox.services import outbox_enqueue


@dataclass(frozen=True, slots=True)
class Redeemed:
    membership: Membership | None
    seat: GroupMembership | None
    waiting_position: int | None


def invitation_redeem(
    *, invitation: Invitation, member: Member, actor_id: int | None = None
) -> Redeemed:
    """Take one use of ``invitation`` and follow it, all or nothing.

    An invitation to a plan starts a membership (a free plan's groups come at once, a paid
    plan's with its payment); one to a group seats the member or puts them on its waiting list.
    If the join is refused (a gated group, a closed plan), the use is given back.
    """
    with transaction.atomic():
        invitation_consume(invitation)
        if invitation.plan is not None:
            membership = membership_start(
                member=member,
                plan=invitation.plan,
                channel=invitation.channel,
                invitation=invitation,
                actor_id=actor_id,
            )
            return Redeemed(membership, None, None)
        if invitation.group is None:  # the database keeps this from happening
            raise ValueError(f"invitation {invitation.pk} leads nowhere")
        joined = group_join(
            group=invitation.group,
            member=member,
            channel=invitation.channel,
            invitation=invitation,
            actor_id=actor_id,
        )
        return Redeemed(None, joined.seat, joined.waiting_position)


def member_sign_in_link_queue(*, member: Member, community: Community, link: str) -> OutboxMessage:
    """Queue a member's personal sign-in link, at most one a day.

    Someone typing a known phone number into a join form is never signed in as that member;
    the member gets this link instead, and typing the number again does not flood them.
    """
    body = _(
        "%(name)s, this is your personal link to “%(community)s”. Open it on your phone to see "
        "your memberships: %(link)s  (valid for 7 days; please do not pass it on)"
    ) % {"name": member.display_name, "community": community.name, "link": link}
    return outbox_enqueue(
        member=member,
        template="sign_in_link",
        body=body,
        purpose=Purpose.SERVICE,
        dedupe_key=f"sign-in:{member.pk}:{timezone.localdate().isoformat()}",
        community_id=community.pk,
    )
