"""Console pages for members: the list with search and filters, adding a member, and one
member's page with identities, tags, consent, memberships, seats, activity, merge, export and
deletion. Reads through selectors, writes through the members services."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from quanzi.communities import selectors as communities
from quanzi.console import selectors
from quanzi.console.feedback import form_error
from quanzi.console.forms_members import (
    AnonymiseForm,
    MemberAddForm,
    MemberFilterForm,
    MergeForm,
    TagsForm,
)
from quanzi.console.views import operator_required
from quanzi.core.errors import ApplicationError, NotFound
from quanzi.members import selectors as members
from quanzi.members.models import Member
from quanzi.members.services import (
    member_anonymise,
    member_identify,
    member_merge,
    member_personal_data_revealed,
    member_set_marketing,
    member_update,
)

PAGE_SIZE = 25
IDENTITY_ALIASES = {"wechat_unionid": "unionid", "display_name": "display_name"}


def _actor(request: HttpRequest) -> int | None:
    return int(request.user.pk) if request.user.pk is not None else None


def _member_or_404(pk: int) -> Member:
    try:
        return members.member_get(pk)
    except NotFound as exc:
        raise Http404(exc.message) from None


@require_http_methods(["GET", "POST"])
@operator_required
def member_list(request: HttpRequest) -> HttpResponse:
    channels = members.member_source_channels()
    filters = MemberFilterForm(request.GET or None, tags=members.tag_names(), channels=channels)
    add = MemberAddForm(request.POST or None, channels=channels)
    if request.method == "POST" and add.is_valid():
        data = add.cleaned_data
        try:
            # One step for the operator: the member and their tags, or neither.
            with transaction.atomic():
                member, created = member_identify(
                    display_name=data["display_name"],
                    identities=add.identities(),
                    source_channel=data["channel"],
                    actor_id=_actor(request),
                )
                if data["tags"]:
                    existing = [t.name for t in member.tags.all()]
                    member_update(
                        member=member, tags=[*existing, *data["tags"]], actor_id=_actor(request)
                    )
        except ApplicationError as exc:
            form_error(add, exc, IDENTITY_ALIASES)
        else:
            if created:
                messages.success(
                    request, _("%(name)s is added as a member.") % {"name": member.display_name}
                )
            else:
                messages.info(
                    request,
                    _(
                        "These details belong to %(name)s (#%(id)s) already; what was new is "
                        "added to their record."
                    )
                    % {"name": member.display_name, "id": member.pk},
                )
            return redirect("console:member", pk=member.pk)
    query = filters.filters() if filters.is_bound else {}
    paginator = Paginator(members.member_list(**query), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    rows = [(m, members.member_phone_masked(m)) for m in page.object_list]
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "filters": filters,
        "filtered": filters.is_bound and filters.active,
        "add": add,
        "page": page,
        "rows": rows,
        "query": params.urlencode(),
        "section": "members",
    }
    return render(request, "console/members.html", context, status=422 if add.errors else 200)


def _detail(
    request: HttpRequest,
    member: Member,
    *,
    revealed: list[dict[str, Any]] | None = None,
    tags_form: TagsForm | None = None,
    merge_form: MergeForm | None = None,
    anonymise_form: AnonymiseForm | None = None,
    status: int = 200,
) -> HttpResponse:
    identities = revealed or members.identities_for(member, user=request.user)
    memberships = communities.membership_list(member=member).prefetch_related(
        "terms", "plan__groups"
    )
    tag_text = ", ".join(t.name for t in member.tags.all())
    context = {
        "member": member,
        "absorbed_into": members.member_current(member) if member.merged_into_id else None,
        "identities": identities,
        "revealed": revealed is not None,
        "can_reveal": members.can_see_personal_data(request.user),
        "memberships": memberships,
        "seats": communities.member_group_seats(member),
        "kol_seats": communities.member_kol_seats(member),
        "activity": selectors.activity_of_members(member_ids=members.member_ids_for(member)),
        "tags_form": tags_form or TagsForm(initial={"tags": tag_text}),
        "merge_form": merge_form or MergeForm(member_id=member.pk),
        "anonymise_form": anonymise_form or AnonymiseForm(),
        "section": "members",
    }
    return render(request, "console/member.html", context, status=status)


@require_GET
@operator_required
def member_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _member_or_404(pk))


@require_POST
@operator_required
def member_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    member = _member_or_404(pk)
    if not members.can_see_personal_data(request.user):
        messages.error(
            request,
            _("Seeing phone numbers and WeChat ids unmasked needs the personal-data permission."),
        )
        return _detail(request, member, status=403)
    revealed = members.identities_for(member, user=request.user, reveal=True)
    member_personal_data_revealed(member=member, actor_id=_actor(request))
    # Shown in this response only: a reload shows them masked again.
    return _detail(request, member, revealed=revealed)


@require_POST
@operator_required
def member_tags(request: HttpRequest, pk: int) -> HttpResponse:
    member = _member_or_404(pk)
    form = TagsForm(request.POST)
    if form.is_valid():
        try:
            member_update(member=member, tags=form.cleaned_data["tags"], actor_id=_actor(request))
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("Tags saved."))
            return redirect("console:member", pk=member.pk)
    return _detail(request, member, tags_form=form, status=422)


@require_POST
@operator_required
def member_marketing(request: HttpRequest, pk: int) -> HttpResponse:
    member = _member_or_404(pk)
    opted_out = request.POST.get("opted_out") == "1"
    try:
        member_set_marketing(
            member=member, opted_out=opted_out, actor_id=_actor(request), source="console"
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if opted_out:
            messages.success(request, _("Marketing messages are off for this member."))
        else:
            messages.success(request, _("Marketing messages are on again for this member."))
    return redirect("console:member", pk=member.pk)


@require_POST
@operator_required
def member_merge_into(request: HttpRequest, pk: int) -> HttpResponse:
    member = _member_or_404(pk)
    form = MergeForm(request.POST, member_id=member.pk)
    if form.is_valid():
        try:
            target = members.member_get(form.cleaned_data["target"])
            merged = member_merge(source=member, target=target, actor_id=_actor(request))
        except ApplicationError as exc:
            form_error(form, exc, {"member": "target"})
        else:
            messages.success(
                request,
                _("#%(source)s is merged into %(name)s (#%(id)s). Nothing of either was lost.")
                % {"source": member.pk, "name": merged.display_name, "id": merged.pk},
            )
            return redirect("console:member", pk=merged.pk)
    return _detail(request, member, merge_form=form, status=422)


@require_POST
@operator_required
def member_export(request: HttpRequest, pk: int) -> HttpResponse:
    member = _member_or_404(pk)
    if not members.can_see_personal_data(request.user):
        messages.error(
            request,
            _(
                "The data export holds unmasked personal data: it needs the personal-data permission."
            ),
        )
        return _detail(request, member, status=403)
    data = members.member_data_export(member)
    member_personal_data_revealed(member=member, actor_id=_actor(request), what="export")
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2, default=str),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="member-{member.pk}.json"'
    return response


@require_POST
@operator_required
def member_delete_personal_data(request: HttpRequest, pk: int) -> HttpResponse:
    member = _member_or_404(pk)
    form = AnonymiseForm(request.POST)
    if form.is_valid():
        try:
            member_anonymise(member=member, actor_id=_actor(request))
        except ApplicationError as exc:
            form_error(form, exc, {"member": "confirm"})
        else:
            messages.success(
                request,
                _(
                    "Personal data of #%(id)s is deleted. Orders, memberships and payments stay, "
                    "without a name."
                )
                % {"id": member.pk},
            )
            return redirect("console:member", pk=member.pk)
    return _detail(request, member, anonymise_form=form, status=422)
