"""API v1: importing a community's orders from before Quanzi (the same rules as
``quanzi import orders``)."""

# No ``from __future__ import annotations``: Ninja resolves a handler's annotations in the
# globals of the function it registers (see quanzi.core.api).
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, UploadedFile
from ninja.params import FileEx, FormEx, P

from quanzi.analytics.services.history import order_file_read, orders_import
from quanzi.api.schemas import ERRORS
from quanzi.communities.selectors import community_by_slug
from quanzi.core.errors import ApplicationError
from quanzi.distribution.api._common import path_text

router = Router(tags=["imports"])

MAX_UPLOAD = 20 * 1024 * 1024


class OrderImportOut(Schema):
    rows: int
    imported: int = Field(description="Orders written (0 in a dry run).")
    already: int = Field(description="Orders imported before with the same values: skipped.")
    members_created: int
    members_matched: int
    revenue_minor: int
    dry_run: bool


@router.post("/communities/{slug}/imports/orders", response={200: OrderImportOut, **ERRORS})
def orders_import_upload(
    request: HttpRequest,
    slug: str,
    file: FileEx[
        UploadedFile, P(description="CSV or .xlsx: member_ref, order_ref, paid_at, amount")
    ],
    dry_run: FormEx[bool, P(description="Check and report; write nothing.")] = False,
) -> dict[str, Any]:
    """Import orders paid before Quanzi (multipart/form-data). Any bad row: 422 naming
    ``line.<n>.<field>`` for each, and nothing is written. The same file again changes nothing."""
    community = community_by_slug(path_text(slug, 50))
    if (file.size or 0) > MAX_UPLOAD:
        raise ApplicationError(_("The file is over 20 MB; split it."), field="file")
    try:
        rows, errors = order_file_read(file.read(), file.name or "orders.csv")
    except ApplicationError as exc:
        raise ApplicationError(exc.message, field="file") from None
    report = orders_import(
        community=community, rows=rows, errors=errors, dry_run=dry_run, source_file=file.name or ""
    )
    if report.errors:
        fields: dict[str, list[str]] = {}
        for error in report.errors:
            fields.setdefault(f"line.{error.line}.{error.field}", []).append(error.reason)
        raise ApplicationError(
            _("%(count)s bad row(s); nothing was imported.") % {"count": len(report.errors)},
            fields=fields,
            code="invalid_rows",
        )
    return {
        "rows": report.rows,
        "imported": report.imported,
        "already": report.already,
        "members_created": report.members_created,
        "members_matched": report.members_matched,
        "revenue_minor": report.revenue_minor,
        "dry_run": report.dry_run,
    }
