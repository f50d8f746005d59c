"""API v1: ``/api/v1/``, OpenAPI at ``/api/v1/openapi.json``, docs at ``/api/v1/docs``."""

from __future__ import annotations

from django.db import DatabaseError, connection
from django.http import HttpRequest
from ninja import NinjaAPI, Schema, Status
from ninja.operation import Operation

import quanzi
from quanzi.analytics.api import router as analytics_router
from quanzi.api import errors
from quanzi.api.auth import operator_auth
from quanzi.catalog.api import router as catalog_router
from quanzi.communities.api import router as communities_router
from quanzi.core.api import router as core_router
from quanzi.distribution.api import router as distribution_router
from quanzi.members.api import router as members_router
from quanzi.orders.api import router as orders_router
from quanzi.payments.api import router as payments_router
from quanzi.rewards.api import router as rewards_router


class QuanziAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation: Operation) -> str:
        # The handler's own name ("membership_pay"): stable when code moves between modules,
        # which the default (module path + name) is not. Names are unique across the API.
        return str(operation.view_func.__name__)


api = QuanziAPI(
    title="Quanzi API",
    version="1",
    description=(
        "The REST API of a Quanzi hub. Authenticate with an operator token "
        "(`quanzi token create USERNAME`) as `Authorization: Bearer qz_...`. Writes accept an "
        "`Idempotency-Key` header: a retry with the same key and body gets the first response. "
        'Every 4xx has one shape: `{"error": {"code", "message", "fields"}}`. Lists take '
        "`limit` (1-200) and `offset` and answer `items`, `count` and `next_offset`. Messages "
        "are in English unless `Accept-Language` asks for Simplified Chinese (`zh-CN`, "
        "`zh-Hans`) or Korean (`ko`); error `code`s never change with the language, so match "
        "on the code and show the message to people."
    ),
    urls_namespace="api-v1",
    auth=operator_auth,
)
errors.install(api)


class HealthOut(Schema):
    status: str
    database: str
    version: str


@api.get("/health", auth=None, response={200: HealthOut, 503: HealthOut}, tags=["health"])
def health(request: HttpRequest) -> Status[HealthOut]:
    """Liveness and readiness: answers 200 when the database answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        status, code = "ok", 200
    except DatabaseError:
        status, code = "unavailable", 503
    return Status(
        code, HealthOut(status=status, database=connection.vendor, version=quanzi.__version__)
    )


api.add_router("/", core_router)
api.add_router("/", members_router)
api.add_router("/", communities_router)
api.add_router("/", catalog_router)
api.add_router("/", orders_router)
api.add_router("/", payments_router)
api.add_router("/", distribution_router)
api.add_router("/", rewards_router)
api.add_router("/", analytics_router)
