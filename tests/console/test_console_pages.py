"""The operator console, through Django's test client."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from quanzi.core.models import Activity, ActivityKind, ApiToken, JobRun, JobStatus
from quanzi.core.money import Money
from quanzi.core.services.activity import activity_record
from quanzi.core.services.tokens import api_token_create

PASSWORD = "a-Long-enough-pass-42"
PAGES = ["/console/", "/console/activity/", "/console/jobs/", "/console/tokens/"]


@pytest.fixture
def signed_in(client: Any, operator: Any) -> Any:
    client.force_login(operator)
    return client


@pytest.fixture
def quiet_client(client: Any, db: None) -> Any:
    """Signed in as a staff user made directly, so the log holds only what a test records
    (``operator_create`` logs an operator action of its own)."""
    user = get_user_model().objects.create_user(username="quiet", password=PASSWORD, is_staff=True)
    client.force_login(user)
    return client


def _seed(days_ago: int, kind: str, **kw: Any) -> Activity:
    return activity_record(
        kind=kind, occurred_at=timezone.now() - timedelta(days=days_ago, minutes=5), **kw
    )


# --- access ------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_anonymous_is_sent_to_login(client: Any, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/console/login/?next={path}"


@pytest.mark.django_db
def test_member_without_staff_flag_cannot_sign_in(client: Any) -> None:
    get_user_model().objects.create_user(username="member", password=PASSWORD)

    response = client.post("/console/login/", {"username": "member", "password": PASSWORD})

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert (
        "not an operator account" in response.content.decode()
        or "运营" in response.content.decode()
    )


@pytest.mark.django_db
def test_signed_in_non_operator_sees_the_form_not_a_redirect_loop(client: Any) -> None:
    user = get_user_model().objects.create_user(username="member", password=PASSWORD)
    client.force_login(user)

    assert client.get("/console/").status_code == 302
    assert client.get("/console/login/?next=/console/").status_code == 200


def test_operator_signs_in_and_out(client: Any, operator: Any) -> None:
    page = client.get("/console/login/")
    assert page.status_code == 200
    assert 'name="password"' in page.content.decode()

    response = client.post("/console/login/", {"username": "owner", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/console/"
    assert client.get("/console/login/").status_code == 302  # already signed in

    assert client.get("/console/logout/").status_code == 405  # signing out is a POST
    response = client.post("/console/logout/")
    assert response.status_code == 302
    assert client.get("/console/").status_code == 302


def test_wrong_password_is_refused(client: Any, operator: Any) -> None:
    response = client.post("/console/login/", {"username": "owner", "password": "nope"})

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("path", PAGES)
def test_operator_sees_every_page(signed_in: Any, path: str) -> None:
    response = signed_in.get(path)

    assert response.status_code == 200
    body = response.content.decode()
    assert 'action="/i18n/setlang/"' in body
    assert 'action="/console/logout/"' in body


# --- overview ----------------------------------------------------------------------------------


def test_overview_with_an_empty_log_says_what_will_appear(signed_in: Any) -> None:
    body = signed_in.get("/console/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "pulse will show here" in body
    assert "plotly.min.js" not in body


def test_overview_counts_the_last_30_days(signed_in: Any) -> None:
    _seed(1, ActivityKind.JOIN, member_id=1, channel="douyin")
    _seed(2, ActivityKind.JOIN, member_id=2, channel="xiaohongshu")
    _seed(2, ActivityKind.PAY, member_id=1, amount=Money(123450, "CNY"))
    _seed(3, ActivityKind.PAY, member_id=2, amount=Money(9900, "CNY"))
    _seed(3, ActivityKind.MESSAGE, member_id=3)
    _seed(40, ActivityKind.JOIN, member_id=9)  # before the window

    response = signed_in.get("/console/", HTTP_ACCEPT_LANGUAGE="en")

    kpis = response.context["kpis"]
    assert (kpis.joins.value, kpis.payments.value, kpis.messages.value) == (2, 2, 1)
    assert kpis.active_members.value == 3
    assert kpis.paid == Money(133350, "CNY")
    body = response.content.decode()
    assert "¥1,333.50" in body
    assert "/static/plotly/plotly.min.js" in body
    assert 'id="activity-figure"' in body
    figure = response.context["figure"]
    assert [trace["name"] for trace in figure["data"]] == ["Join", "Payment", "Message"]
    assert all(len(trace["y"]) == 30 for trace in figure["data"])
    assert sum(sum(trace["y"]) for trace in figure["data"]) == 5


def test_plotly_bundle_is_served_locally(client: Any) -> None:
    response = client.get("/static/plotly/plotly.min.js")

    assert response.status_code == 200


# --- activity log ------------------------------------------------------------------------------


def test_activity_log_lists_newest_first_with_filters(quiet_client: Any) -> None:
    _seed(5, ActivityKind.JOIN, member_id=11, channel="douyin")
    paid = _seed(4, ActivityKind.PAY, member_id=12, channel="douyin", amount=Money(500, "CNY"))
    _seed(1, ActivityKind.JOIN, member_id=13, channel="weibo")

    rows = quiet_client.get("/console/activity/").context["page"].rows
    assert [r.activity.member_id for r in rows] == [13, 12, 11]

    rows = quiet_client.get("/console/activity/?kind=join").context["page"].rows
    assert [r.activity.member_id for r in rows] == [13, 11]

    rows = quiet_client.get("/console/activity/?channel=douyin").context["page"].rows
    assert [r.activity.member_id for r in rows] == [12, 11]

    day = timezone.localtime(paid.occurred_at).date().isoformat()
    rows = (
        quiet_client.get(f"/console/activity/?date_from={day}&date_to={day}").context["page"].rows
    )
    assert [r.activity.member_id for r in rows] == [12]


def test_activity_log_loads_more_with_htmx(quiet_client: Any) -> None:
    for i in range(60):
        activity_record(
            kind=ActivityKind.VISIT,
            member_id=i,
            occurred_at=timezone.now() - timedelta(minutes=i + 1),
        )

    first = quiet_client.get("/console/activity/")
    assert len(first.context["page"].rows) == 50
    cursor = first.context["page"].next_cursor
    assert cursor
    assert 'hx-get="/console/activity/?cursor=' in first.content.decode()

    more = quiet_client.get("/console/activity/", {"cursor": cursor}, HTTP_HX_REQUEST="true")
    assert more.status_code == 200
    assert more.templates[0].name == "console/_activity_rows.html"
    assert [r.activity.member_id for r in more.context["page"].rows] == list(range(50, 60))
    assert more.context["page"].next_cursor is None
    assert "<html" not in more.content.decode()


def test_activity_log_ignores_a_bad_cursor_and_bad_dates(signed_in: Any) -> None:
    response = signed_in.get("/console/activity/?cursor=garbage&date_from=yesterday")

    assert response.status_code == 200


def test_activity_log_empty_state(quiet_client: Any) -> None:
    body = quiet_client.get("/console/activity/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "No activity yet" in body


# --- jobs --------------------------------------------------------------------------------------


def test_jobs_lists_every_registered_job(signed_in: Any) -> None:
    body = signed_in.get("/console/jobs/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "core.ledger_verify" in body
    assert "core.idempotency_purge" in body
    assert "Every day" in body
    assert "Every hour" in body
    assert "Never run" in body


def test_run_now_creates_a_job_run_and_shows_the_outcome(signed_in: Any) -> None:
    response = signed_in.post("/console/jobs/core.ledger_verify/run/", follow=True)

    run = JobRun.objects.get(job="core.ledger_verify")
    assert run.status == JobStatus.DONE
    assert run.result == "ledger consistent"
    body = response.content.decode()
    assert "ledger consistent" in body
    assert response.redirect_chain == [("/console/jobs/", 302)]


def test_run_now_is_a_post_and_knows_its_jobs(signed_in: Any) -> None:
    assert signed_in.get("/console/jobs/core.ledger_verify/run/").status_code == 405
    assert signed_in.post("/console/jobs/no.such_job/run/").status_code == 404
    assert not JobRun.objects.exists()


def test_run_now_needs_an_operator(client: Any, db: None) -> None:
    response = client.post("/console/jobs/core.ledger_verify/run/")

    assert response.status_code == 302
    assert not JobRun.objects.exists()


# --- API tokens --------------------------------------------------------------------------------


def test_token_create_shows_the_raw_token_once_and_stores_a_digest(signed_in: Any) -> None:
    response = signed_in.post("/console/tokens/", {"name": "shop sync"})

    assert response.status_code == 200
    token = ApiToken.objects.get()
    raw = response.context["raw"]
    assert raw.startswith("qz_")
    assert token.name == "shop sync"
    assert token.digest == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {token.prefix, token.digest, token.name}
    assert raw in response.content.decode()

    again = signed_in.get("/console/tokens/").content.decode()
    assert raw not in again
    assert token.prefix in again


def test_token_create_needs_a_name(signed_in: Any) -> None:
    response = signed_in.post("/console/tokens/", {"name": ""})

    assert response.status_code == 422
    assert not ApiToken.objects.exists()


def test_token_revoke(signed_in: Any, operator: Any) -> None:
    token, _ = api_token_create(username=operator.username, name="bot")

    response = signed_in.post(f"/console/tokens/{token.pk}/revoke/", follow=True)

    token.refresh_from_db()
    assert token.revoked_at is not None
    assert response.redirect_chain == [("/console/tokens/", 302)]
    assert re.search(r"status-revoked", response.content.decode())


def test_token_revoke_refuses_someone_elses_token(signed_in: Any, db: None) -> None:
    from quanzi.core.services.tokens import operator_create

    other, _ = operator_create(username="partner", password=PASSWORD)
    token, _ = api_token_create(username=other.username, name="theirs")

    response = signed_in.post(f"/console/tokens/{token.pk}/revoke/")

    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


# --- languages ---------------------------------------------------------------------------------


def test_default_language_is_simplified_chinese(signed_in: Any) -> None:
    body = signed_in.get("/console/").content.decode()

    assert '<html lang="zh-hans">' in body
    assert "概览" in body
    assert "会员" in body


def test_language_switch_changes_the_rendered_language(signed_in: Any) -> None:
    response = signed_in.post("/i18n/setlang/", {"language": "ko", "next": "/console/jobs/"})

    assert response.status_code == 302
    assert response["Location"] == "/console/jobs/"
    assert response.cookies["quanzi_language"].value == "ko"
    body = signed_in.get("/console/jobs/").content.decode()
    assert '<html lang="ko">' in body
    assert "작업" in body
    assert "지금 실행" in body

    signed_in.post("/i18n/setlang/", {"language": "en", "next": "/console/"})
    body = signed_in.get("/console/").content.decode()
    assert "Overview" in body
    assert "Communities &amp; groups" in body


def test_login_page_is_translated(client: Any, db: None) -> None:
    client.cookies["quanzi_language"] = "ko"

    body = client.get("/console/login/").content.decode()

    assert "로그인" in body
