"""Dead-group early warning: a dying group warns with the right reasons, a healthy one does not,
a new empty group gets "not enough data"; evaluation is idempotent, a warning resolves when the
group recovers, and the operator's webhook gets it once, signed, after retries."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from django.utils import timezone

from quanzi.analytics.models import HealthWarning, WarningStatus, WebhookDelivery
from quanzi.analytics.rollups import rollup_refresh
from quanzi.analytics.selectors.health import group_health, open_warnings
from quanzi.analytics.services.health import (
    Windows,
    health_evaluate,
    score,
    settings_update,
)
from quanzi.analytics.services.messages import IncomingMessage, messages_ingest
from quanzi.analytics.webhooks import webhooks_deliver
from quanzi.communities.models import Community, Group, KolSeat
from quanzi.communities.services.joining import group_join
from quanzi.communities.tests.factories import community, group
from quanzi.members.models import Member
from quanzi.members.tests.factories import member

pytestmark = pytest.mark.django_db

TODAY = date(2026, 6, 28)


def at(day: date, hour: int) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour))


def build(chat: Group, people: list[Member], kol: Member, *, dying: bool) -> None:
    """Four weeks of chat. A healthy group talks the same all along; a dying one fades in the
    last two weeks: fewer people, ads from strangers, its KOL silent, nobody answering anyone."""
    start = TODAY - timedelta(days=27)
    for person in [*people, kol]:
        group_join(
            group=chat, member=person, check_gate=False, now=at(start - timedelta(days=3), 9)
        )
    KolSeat.objects.create(group=chat, member=kol)
    batch: list[IncomingMessage] = []

    def say(who: Member | None, day: date, hour: int, text: str, **kw: Any) -> None:
        sender = f"wxid_{who.pk}" if who else "wxid_spam"
        batch.append(
            IncomingMessage(
                group=str(chat.pk),
                sent_at=at(day, hour),
                sender_id=sender,
                sender_name=who.display_name if who else "广告号",
                text=text,
                member_id=who.pk if who else None,
                **kw,
            )
        )

    for offset in range(28):
        day = start + timedelta(days=offset)
        late = offset >= 14
        talkers = people[:1] if (dying and late) else people[:8]
        for i, person in enumerate(talkers):
            reply = {} if (dying and late) else {"reply_to": f"wxid_{talkers[i - 1].pk}"}
            say(person, day, 9 + i, f"第{offset}天聊聊", **reply)
        if not (dying and late):
            say(kol, day, 20, "今天的分享")
        if dying and late:
            say(None, day, 21, "兼职日赚300 加我微信 wxid_spam01")
            say(None, day, 22, "扫码领券 https://t.cn/x")
    report = messages_ingest(community=chat.community, messages=batch)
    assert report.ok, report.errors


@pytest.fixture
def circle(frozen_clock: Any) -> tuple[Community, Group, Group]:
    frozen_clock.set(at(TODAY, 23))
    place = community()
    healthy, dying = group(place, name="健康群"), group(place, name="快死的群")
    build(healthy, [member(f"h{i}") for i in range(10)], member("KOL 老师"), dying=False)
    build(dying, [member(f"d{i}") for i in range(10)], member("KOL 阿杰"), dying=True)
    rollup_refresh()
    return place, healthy, dying


def test_a_dying_group_warns_with_its_reasons_and_a_healthy_one_does_not(circle: Any) -> None:
    place, healthy, dying = circle

    results = {r.group.pk: r for r in health_evaluate(community=place, day=TODAY)}

    assert not results[healthy.pk].warns
    assert results[healthy.pk].score.score == 0
    sick = results[dying.pk]
    assert sick.warns
    codes = [s.code for s in sick.score.signals if s.points]
    # The biggest reasons first: activity and messages fell, ads rose, the KOL went silent, and
    # nobody answers anyone.
    assert codes == ["activity_trend", "message_trend", "ad_ratio", "kol_silence", "strangeness"]
    assert sick.score.score == 100
    signals = {s.code: s for s in sick.score.signals}
    assert signals["kol_silence"].detail == "KOL 阿杰"
    assert signals["ad_ratio"].value == pytest.approx(2 / 3, abs=1e-4)  # 2 ads of 3 a day
    warning = HealthWarning.objects.get(status=WarningStatus.OPEN)
    assert warning.group_id == dying.pk
    views = open_warnings(place)
    assert [w.group_name for w in views] == ["快死的群"]
    assert "ads" in views[0].signals[2].action


def test_evaluating_twice_opens_one_warning(circle: Any) -> None:
    place, _healthy, _dying = circle
    settings_update(community=place, webhook_url="http://127.0.0.1:9/hook")

    health_evaluate(community=place, day=TODAY)
    health_evaluate(community=place, day=TODAY)
    health_evaluate(community=place, day=TODAY + timedelta(days=1))

    assert HealthWarning.objects.count() == 1
    assert WebhookDelivery.objects.count() == 1


def test_a_new_empty_group_has_not_enough_data(circle: Any) -> None:
    place, _healthy, _dying = circle
    fresh = group(place, name="新群")
    for _ in range(6):
        group_join(group=fresh, member=member(), check_gate=False)
    rollup_refresh()

    view = group_health(fresh)

    assert view.score is None
    assert view.reason == "no_history"
    assert not view.warns


def test_a_warning_resolves_when_the_group_recovers(circle: Any, frozen_clock: Any) -> None:
    place, _healthy, dying = circle
    health_evaluate(community=place, day=TODAY)
    # Later: the group has been lively again for two whole windows.
    later = TODAY + timedelta(days=28)
    frozen_clock.set(at(later, 23))
    people = list(Member.objects.filter(display_name__startswith="d"))
    batch = [
        IncomingMessage(
            group=str(dying.pk),
            sent_at=at(later - timedelta(days=d), 10 + i),
            sender_id=f"wxid_{p.pk}",
            member_id=p.pk,
            text="回来了",
            reply_to=f"wxid_{people[i - 1].pk}",
        )
        for d in range(28)
        for i, p in enumerate(people[:8])
    ]
    messages_ingest(community=dying.community, messages=batch)
    rollup_refresh()

    health_evaluate(community=place, day=later)

    warning = HealthWarning.objects.get()
    assert warning.status == WarningStatus.RESOLVED
    assert open_warnings(place) == []


def test_the_score_is_pure_arithmetic_on_two_windows() -> None:
    calm = Windows(20, 0.5, 0.5, 100, 100, 0, frozenset({"K"}), frozenset({"K"}), 0.2, True)
    half = Windows(20, 0.3, 0.5, 60, 100, 20, frozenset({"K", "L"}), frozenset({"K"}), 0.65, True)

    assert score(calm).score == 0
    got = score(half)
    # Activity fell 40% → 15; messages fell 40% → 12; ads 20/60 = 33% → 20; one of two KOLs
    # silent → 8; strangeness 65% → 5.
    assert {s.code: s.points for s in got.signals} == {
        "activity_trend": 15,
        "message_trend": 12,
        "ad_ratio": 20,
        "kol_silence": 8,
        "strangeness": 5,
    }
    assert got.score == 60
    tiny = Windows(3, 0.0, 1.0, 0, 10, 0, frozenset(), frozenset(), 1.0, True)
    assert score(tiny).score is None


class _Receiver(BaseHTTPRequestHandler):
    answers: list[int] = []
    received: list[tuple[bytes, dict[str, str]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((body, dict(self.headers)))
        self.send_response(type(self).answers.pop(0) if type(self).answers else 200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


def test_the_webhook_is_signed_retried_and_never_sent_twice(circle: Any, frozen_clock: Any) -> None:
    place, _healthy, dying = circle
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Receiver.received, _Receiver.answers = [], [500]
    try:
        url = f"http://127.0.0.1:{server.server_port}/quanzi"
        settings_update(community=place, webhook_url=url, webhook_secret="s3cret")
        health_evaluate(community=place, day=TODAY)

        assert webhooks_deliver() == 0  # the receiver answers 500 first
        assert webhooks_deliver() == 0  # not due yet: the retry waits a minute
        frozen_clock.advance(timedelta(minutes=2))
        assert webhooks_deliver() == 1
        frozen_clock.advance(timedelta(hours=1))
        assert webhooks_deliver() == 0  # delivered: never again
    finally:
        server.shutdown()

    assert len(_Receiver.received) == 2
    body, headers = _Receiver.received[-1]
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Quanzi-Signature"] == expected
    payload = json.loads(body)
    assert payload["group"]["id"] == dying.pk
    assert payload["score"] == 100
    assert payload["signals"][0]["code"] == "activity_trend"
    assert payload["signals"][0]["action"]
    delivery = WebhookDelivery.objects.get()
    assert (delivery.attempts, delivery.status_code) == (2, 200)


def test_health_api(api: Any, client: Any, circle: Any) -> None:
    place, _healthy, dying = circle
    base = f"/api/v1/communities/{place.slug}/analytics/health"

    evaluated = api.post(f"{base}/actions/evaluate")
    listed = api.get(base).json()
    warnings = api.get(f"{base}/warnings?status=open").json()

    def put(body: dict[str, Any]) -> Any:
        return client.put(
            f"{base}/settings",
            json.dumps(body),
            content_type="application/json",
            headers=api.headers,
        )

    changed = put({"threshold": 70, "webhook_url": "https://ops.example.com/hook"})
    refused = put({"webhook_url": "ftp://x"})
    out_of_range = put({"threshold": 0})

    assert evaluated.status_code == 200
    assert {g["group_id"]: g["warns"] for g in listed}[dying.pk] is True
    assert [w["group_id"] for w in warnings] == [dying.pk]
    assert warnings[0]["signals"][0]["action"]
    assert changed.json()["threshold"] == 70
    assert refused.status_code == 422
    assert "webhook_url" in refused.json()["error"]["fields"]
    assert out_of_range.status_code == 422
    assert "threshold" in out_of_range.json()["error"]["fields"]


def shop_in(place: Community, chat: Group) -> None:
    """Some of a group's members visit a link and buy in the last two weeks (three twice), so
    pages that show funnels and RFM have buyers."""
    from quanzi.core.models import ActivityKind
    from quanzi.core.money import Money
    from quanzi.core.services.activity import activity_record

    people = list(Member.objects.filter(group_seats__group=chat).order_by("pk")[:6])
    for n, person in enumerate(people):
        activity_record(
            kind=ActivityKind.VISIT,
            occurred_at=at(TODAY - timedelta(days=10), 8),
            member_id=person.pk,
            community_id=place.pk,
        )
        for k in range(1 + (n < 3)):
            activity_record(
                kind=ActivityKind.PAY,
                occurred_at=at(TODAY - timedelta(days=5 - 3 * k), 12),
                member_id=person.pk,
                community_id=place.pk,
                amount=Money(8800 + 1000 * n, "CNY"),
                object_type="product",
                object_id="1",
                data={"order": f"T{person.pk}-{k}"},
            )
