"""Helpers shared by the communities API modules."""


# No ``from __future__ import annotations``: Ninja resolves a handler's annotations in the
# globals of the function it registers, and ``@paginate`` wraps the handler in a function from
# ninja.pagination, where ``Query[...]`` as a string cannot be resolved (see quanzi.core.api).

from django.utils.translation import gettext as _

from quanzi.communities import selectors
from quanzi.communities.models import (
    Community,
    Group,
    Membership,
    MembershipPlan,
)
from quanzi.core.errors import NotFound

# Bounds that keep a number inside a database column, so an absurd value is a 422, not a 500.
BIGINT = 2**63 - 1
INT = 2**31 - 1


def _one_of(values: list[str]) -> str:
    return "One of: " + ", ".join(values)


def _group(community: Community, group_id: int) -> Group:
    group = (
        selectors.group_list(community=community, include_archived=True).filter(pk=group_id).first()
    )
    if group is None:
        raise NotFound(
            _("%(community)s has no group #%(pk)s.")
            % {"community": community.name, "pk": group_id},
            field="group",
        )
    return group


def _plan(community: Community, plan_id: int, field: str = "plan") -> MembershipPlan:
    plan = selectors.plan_list(community=community).filter(pk=plan_id).first()
    if plan is None:
        raise NotFound(
            _("%(community)s has no plan #%(pk)s.") % {"community": community.name, "pk": plan_id},
            field=field,
        )
    return plan


def _membership(membership_id: int) -> Membership:
    found = selectors.membership_list().filter(pk=membership_id).first()
    if found is None:
        raise NotFound(_("No membership #%(pk)s.") % {"pk": membership_id}, field="membership")
    return found


def _plan_by_id(plan_id: int) -> MembershipPlan:
    plan = selectors.plan_list().filter(pk=plan_id).first()
    if plan is None:
        raise NotFound(_("No plan #%(pk)s.") % {"pk": plan_id}, field="plan_id")
    return plan
