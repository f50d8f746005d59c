"""What the rewards domain tells the members domain: a merge moves the crystals."""

from __future__ import annotations

from quanzi.communities.models import Community
from quanzi.core.lock_objects import ledger_accounts_for_update
from quanzi.core.models import ActivityKind
from quanzi.core.services.activity import activity_record
from quanzi.core.services.ledger import Leg, ledger_post
from quanzi.members import hooks
from quanzi.members.models import Member
from quanzi.rewards.models import CrystalGrant, MemberLevel, Redemption
from quanzi.rewards.services.accounts import debt_account, issued_account, wallet_account
from quanzi.rewards.services.levels import level_floors, level_recompute


def on_merge(source: Member, target: Member) -> None:
    """Move ``source``'s crystals, debt, grants and redemptions onto ``target``, per community
    (inside ``member_merge``'s transaction). The ledger history of the source's accounts stays
    where it was; one transfer empties them."""
    community_ids = sorted(
        set(CrystalGrant.objects.filter(member=source).values_list("community_id", flat=True))
        | set(MemberLevel.objects.filter(member=source).values_list("community_id", flat=True))
        | set(Redemption.objects.filter(member=source).values_list("community_id", flat=True))
    )
    for community_id in community_ids:
        _merge_in(Community.objects.get(pk=community_id), source, target)


def _merge_in(community: Community, source: Member, target: Member) -> None:
    cid = community.pk
    wallet_from, debt_from = wallet_account(cid, source.pk), debt_account(cid, source.pk)
    wallet_to, debt_to = wallet_account(cid, target.pk), debt_account(cid, target.pk)
    # The issuance account too: every crystal write locks it with the wallet, in pk order.
    locked = ledger_accounts_for_update(
        [wallet_from.pk, debt_from.pk, wallet_to.pk, debt_to.pk, issued_account(cid).pk]
    )
    held, owed = locked[wallet_from.pk].balance, -locked[debt_from.pk].balance
    legs = []
    if held:
        legs += [Leg(wallet_from, -held), Leg(wallet_to, held)]
    if owed:
        legs += [Leg(debt_from, owed), Leg(debt_to, -owed)]
    if legs:
        ledger_post(
            legs=legs,
            kind="crystals.merge",
            memo=f"merged member {source.pk} into {target.pk}",
            idempotency_key=f"crystals:merge:{cid}:{source.pk}:{target.pk}",
            object_type="member",
            object_id=target.pk,
        )
    for grant in CrystalGrant.objects.filter(community=community, member=source):
        clash = CrystalGrant.objects.filter(
            community=community, member=target, action=grant.action, source=grant.source
        ).exists()
        # Both records earned for the same source (rare): both grants stay, told apart.
        renamed = f"{grant.source[:88]}#m{source.pk}" if clash else grant.source
        CrystalGrant.objects.filter(pk=grant.pk).update(member=target, source=renamed)
    Redemption.objects.filter(community=community, member=source).update(member=target)
    MemberLevel.objects.filter(community=community, member=source).delete()
    level_recompute(community, target)
    activity_record(
        kind=ActivityKind.CRYSTALS,
        member_id=target.pk,
        target_member_id=source.pk,
        community_id=cid,
        object_type="member",
        object_id=target.pk,
        data={"direction": "merged", "crystals": held, "debt": owed, "from": source.pk},
    )


hooks.merge_handlers.append(on_merge)


hooks.level_floors.append(level_floors)
