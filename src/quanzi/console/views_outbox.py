"""The outbox page: every message Quanzi would send, for the operator to copy into WeChat.

The embedded hub sends nothing itself; "Mark sent" records that the operator did.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from quanzi.console import selectors
from quanzi.console.views import operator_required
from quanzi.core import clock
from quanzi.core.errors import ApplicationError
from quanzi.outbox.models import OutboxStatus
from quanzi.outbox.services import outbox_mark_sent

SHOWN = (OutboxStatus.QUEUED, OutboxStatus.SENT, OutboxStatus.SUPPRESSED)


@require_GET
@operator_required
def outbox(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", OutboxStatus.QUEUED)
    if status not in SHOWN:
        status = OutboxStatus.QUEUED
    counts = selectors.outbox_counts()
    tabs = [(s.value, s.label, counts.get(s.value, 0)) for s in SHOWN]
    context = {
        "status": status,
        "tabs": tabs,
        "messages_list": selectors.outbox_messages(status=status)[: selectors.OUTBOX_PAGE_SIZE],
        "now": clock.now(),
        "section": "outbox",
    }
    return render(request, "console/outbox.html", context)


@require_POST
@operator_required
def outbox_sent(request: HttpRequest, pk: int) -> HttpResponse:
    message = selectors.outbox_message(pk)
    if message is None:
        raise Http404("No such message.")
    try:
        outbox_mark_sent(message=message)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Marked as sent to %(name)s.") % {"name": message.member.display_name},
        )
    return redirect(reverse("console:outbox") + "?status=queued")
