"""A sharer's personal link: the page a friend lands on, joining right there, and the poster.

A signed-in member who opens a link leaves a touch at once, and an order they pay within the
attribution window goes to the sharer. A visitor the phone does not know yet is only noted in
the session; the note becomes their touch, at the time of the visit, when they join here or
sign in with their personal link later. As everywhere on these pages, a phone number typed
that is already known never signs anyone in: its member is sent their personal link instead.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import update_wrapper
from typing import Any, Concatenate, ParamSpec

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from quanzi.communities.services.invitations import member_sign_in_link_queue
from quanzi.core.errors import ApplicationError
from quanzi.distribution.models import ReferralLink
from quanzi.distribution.services.identity import same_person
from quanzi.distribution.services.links import REFERRAL_CHANNEL, referral_visit
from quanzi.h5 import poster, views
from quanzi.h5.forms import JoinForm
from quanzi.h5.views import PRIVACY_NOTICE_VERSION, SESSION_MEMBER, signed_in_member
from quanzi.h5.views_share._common import (
    link_or_none,
    product_on_sale,
    product_price,
    referral_remember,
    referrals_apply,
    referrals_remembered,
    tone,
)
from quanzi.members.models import IdentityKind, Member
from quanzi.members.services import (
    IdentityIn,
    member_identify,
    member_record_consent,
    member_sign_in_token_create,
)

P = ParamSpec("P")
POSTER_MAX_AGE = 3600  # seconds a browser or proxy may keep a poster without asking again


def _unknown(request: HttpRequest) -> HttpResponse:
    return render(request, "h5/share/unknown.html", {"tab": ""}, status=404)


def _target(link: ReferralLink) -> str:
    """Where buying goes on: the product, or the shop when the link is to the community (or
    the product is no longer on sale)."""
    product = product_on_sale(link)
    if product is not None:
        return reverse("h5:product", args=[product.pk])
    return reverse("h5:shop", args=[link.community.slug])


@require_http_methods(["GET", "POST"])
def referral(request: HttpRequest, code: str) -> HttpResponse:
    link = link_or_none(code)
    if link is None:
        return _unknown(request)
    member = signed_in_member(request)
    if member is not None:
        if request.method == "GET":
            with transaction.atomic():
                referrals_apply(request, member)  # anything opened before signing in first
                referral_visit(link=link, member=member)
        return _landing(request, link, member, None)
    if request.method == "GET":
        referral_visit(link=link)  # counted now; the touch when they join or sign in
        referral_remember(request, link)
        return _landing(request, link, None, JoinForm())
    form = JoinForm(request.POST)
    if not form.is_valid():
        return _landing(request, link, None, form, status=422)
    try:
        joined, created = _join(request, link, form)
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        return _landing(request, link, None, form, status=422)
    if not created:
        return _landing(request, link, None, None, link_sent=True)
    request.session.cycle_key()  # a new session id: no fixation from before the sign-in
    request.session[SESSION_MEMBER] = joined.pk
    return redirect(_target(link))


def _join(request: HttpRequest, link: ReferralLink, form: JoinForm) -> tuple[Member, bool]:
    """A new member, who agreed to the privacy notice, with the links this browser opened as
    their visits; or, for a number already known, that member's personal link sent to them."""
    data = form.cleaned_data
    referral_remember(request, link, again=False)  # noted when the page was opened
    with transaction.atomic():
        member, created = member_identify(
            display_name=data["display_name"],
            identities=[IdentityIn(IdentityKind.PHONE, data["phone"])],
            source_channel=REFERRAL_CHANNEL,
            source_content=link.code,
        )
        if created:
            member_record_consent(member=member, version=PRIVACY_NOTICE_VERSION)
            referrals_apply(request, member)
        else:
            # Anyone can type a number: its member gets their link; the notes stay on this
            # phone and become theirs if they open that link here.
            token = member_sign_in_token_create(member=member)
            url = request.build_absolute_uri(reverse("h5:login", args=[token]))
            member_sign_in_link_queue(member=member, community=link.community, link=url)
    return member, created


def _landing(
    request: HttpRequest,
    link: ReferralLink,
    member: Member | None,
    form: JoinForm | None,
    *,
    status: int = 200,
    link_sent: bool = False,
) -> HttpResponse:
    product = product_on_sale(link)
    context: dict[str, Any] = {
        "tab": "",
        "link": link,
        "community": link.community,
        "sharer": link.sharer,
        "product": product,
        "price": product_price(product) if product is not None else None,
        "tone": tone(product) if product is not None else None,
        "target": _target(link),
        "member": member,
        "own": member is not None and same_person(member.pk, link.sharer_id),
        "form": form,
        "link_sent": link_sent,
    }
    return render(request, "h5/share/landing.html", context, status=status)


# --- The poster --------------------------------------------------------------------------------


def poster_of(request: HttpRequest, link: ReferralLink) -> poster.Poster:
    product = product_on_sale(link)
    community = link.community
    url = request.build_absolute_uri(reverse("h5:referral", args=[link.code]))
    common = {
        "sharer": link.sharer.display_name,
        "recommends": _("recommends this to you"),
        "community": community.name,
        "hint": _("Scan or long-press the QR code"),
        "url": url,
    }
    if product is None:
        return poster.Poster(
            title=community.name,
            subtitle=community.description or str(community.get_vertical_display()),
            price="",
            initial=community.name[:1],
            tone=None,
            **common,
        )
    price = product_price(product)
    shown = price.amount.format()
    return poster.Poster(
        title=product.name,
        subtitle=product.category or str(product.get_kind_display()),
        price=_("from %(price)s") % {"price": shown} if price.several else shown,
        initial=product.name[:1],
        tone=tone(product),
        badge=community.name,
        **common,
    )


@require_GET
def referral_poster(request: HttpRequest, code: str) -> HttpResponse:
    link = link_or_none(code)
    if link is None:
        return HttpResponse(status=404)
    content = poster_of(request, link)
    tag = poster.etag(content)
    response = get_conditional_response(request, etag=tag) or HttpResponse(
        poster.render(content), content_type="image/png"
    )
    response["ETag"] = tag
    response["Content-Disposition"] = f'inline; filename="poster-{link.code}.png"'
    response["Content-Language"] = get_language() or ""
    patch_cache_control(response, public=True, max_age=POSTER_MAX_AGE)
    patch_vary_headers(response, ["Cookie", "Accept-Language"])  # the poster's words
    return response


# --- Signing in with a personal link -----------------------------------------------------------


def applying_referrals(
    view: Callable[Concatenate[HttpRequest, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """After ``view``: if the browser is now signed in and had opened links before, they
    become the member's visits, at the time they were opened."""

    def wrapped(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if referrals_remembered(request):
            member = signed_in_member(request)
            if member is not None:
                with transaction.atomic():
                    referrals_apply(request, member)
        return response

    update_wrapper(wrapped, view)
    return wrapped


login = applying_referrals(views.login)
