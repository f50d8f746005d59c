"""The API describes itself: the OpenAPI document and a docs page that loads nothing from outside."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_health_needs_no_token_and_reports_the_database(client: Client) -> None:
    from django.db import connection

    import quanzi

    response = client.get("/api/v1/health")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": connection.vendor,
        "version": quanzi.__version__,
    }


def test_the_openapi_document_lists_every_endpoint_with_the_error_shape(client: Client) -> None:
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Quanzi API"
    assert {
        "/api/v1/health",
        "/api/v1/activities",
        "/api/v1/jobs",
        "/api/v1/jobs/{name}/actions/run",
        "/api/v1/members",
        "/api/v1/communities",
        "/api/v1/memberships",
        "/api/v1/invitations/actions/redeem",
    } <= set(schema["paths"])
    assert set(schema["paths"]["/api/v1/activities"]) == {"get", "post"}
    post = schema["paths"]["/api/v1/activities"]["post"]
    assert {"201", "400", "401", "404", "409", "422"} <= set(post["responses"])
    listed = {p["name"] for p in schema["paths"]["/api/v1/activities"]["get"]["parameters"]}
    assert {"limit", "offset", "kind", "member_id", "since", "until"} <= listed


def test_the_docs_page_loads_its_scripts_from_this_host_only(client: Client) -> None:
    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r"""<(?:script|link)[^>]+(?:src|href)=["']([^"']+)["']""", html)
    assert sources  # the page does load its swagger bundle
    assert "/static/ninja/swagger-ui-bundle.js" in sources
    assert [s for s in sources if re.match(r"^(https?:)?//", s)] == []
    assert "cdn" not in html.lower()


def test_the_jobs_endpoint_lists_the_registered_jobs(api: Any) -> None:
    response = api.get("/api/v1/jobs")

    assert response.status_code == 200
    jobs = {job["name"]: job for job in response.json()}
    assert {"core.ledger_verify", "core.idempotency_purge"} <= set(jobs)
    assert jobs["core.idempotency_purge"]["every_seconds"] == 3600
    assert jobs["core.idempotency_purge"]["last_status"] is None
