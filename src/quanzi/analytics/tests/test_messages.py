"""Group chat in: senders resolve to members or stay unknown, batches are all or nothing,
resending stores nothing twice, ads are flagged, and replies and mentions become the
interactions that strangeness is measured from."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from quanzi.analytics.chat_files import ChatFileInvalid, chat_file_read
from quanzi.analytics.models import ChatMessage, ChatSender
from quanzi.analytics.services.messages import IncomingMessage, messages_ingest, sender_link
from quanzi.analytics.services.promotion import promotion_reasons
from quanzi.communities.models import Community, Group, KolSeat
from quanzi.communities.services.joining import group_join
from quanzi.communities.tests.factories import community, group
from quanzi.core.models import Activity, ActivityKind
from quanzi.members.models import IdentityKind, Member
from quanzi.members.services import IdentityIn, member_identify
from quanzi.members.tests.factories import member

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("kind", "text", "reasons"),
    [
        ("text", "今天的螃蟹真肥,大家晚上吃什么?", []),
        ("text", "这个优惠券怎么用?", []),  # a member asking is not an ad
        ("text", "有没有人一起团?", []),
        ("red_packet", "恭喜发财", []),
        ("image", "", []),
        ("text", "今晚直播限时一小时,大家准时来", []),  # a time limit, not a flash sale
        ("text", "我刚加我老公进群了", []),
        ("text", "谢谢老师,作业发到群里了", []),
        ("text", "Is this on sale?", []),
        ("text", "限时抢购,今晚截止", ["promo_words"]),
        ("text", "看看我的vx: abc_123456", ["contact_details", "contact_push"]),
        ("text", "点击链接免费领课程 http://x.cn/abc", ["link", "promo_words"]),
        (
            "text",
            "兼职日赚300,加我微信 wxid_abc123 私聊",
            ["contact_details", "contact_push", "promo_words"],
        ),
        ("text", "限时秒杀!点击链接 https://t.cn/A6x 下单立减", ["link", "promo_words"]),
        ("text", "需要的扫码进群领券", ["contact_push", "promo_words"]),
        ("text", "代购联系 13912345678", ["contact_details", "promo_words"]),
        ("link", "我们的公众号文章", ["link"]),
        ("qr", "", ["qr_code"]),
        ("mini_program", "拼多多砍一刀", ["mini_program"]),
        ("text", "오늘만 50% 할인 쿠폰 드려요", ["promo_words"]),
    ],
)
def test_promotion_detection(kind: str, text: str, reasons: list[str]) -> None:
    assert promotion_reasons(kind, text) == reasons


def _at(hours_ago: float) -> datetime:
    return timezone.now() - timedelta(hours=hours_ago)


def msg(
    chat: Group, sender: str, text: str = "大家好", hours_ago: float = 1, **kw: Any
) -> IncomingMessage:
    kw.setdefault("sender_name", sender)
    return IncomingMessage(
        group=str(chat.pk), sender_id=f"wxid_{sender}", text=text, sent_at=_at(hours_ago), **kw
    )


def wecom_member(name: str, external: str) -> Member:
    person, _ = member_identify(
        display_name=name, identities=[IdentityIn(IdentityKind.WECOM, external)]
    )
    return person


def test_known_senders_resolve_unknown_stay_apart() -> None:
    chat = group()
    known = wecom_member("老王", "wm_wang_0001")
    report = messages_ingest(
        community=chat.community,
        messages=[
            IncomingMessage(
                group=str(chat.pk),
                sender_id="wm_wang_0001",
                sender_name="老王",
                text="早",
                sent_at=_at(2),
            ),
            msg(chat, "stranger", "有人吗"),
        ],
    )

    assert report.ok
    assert (report.created, report.unknown_senders) == (2, 1)
    senders = {s.external_id: s.member_id for s in ChatSender.objects.all()}
    assert senders == {"wm_wang_0001": known.pk, "wxid_stranger": None}
    # Only the known sender's message reaches the activity log.
    assert list(
        Activity.objects.filter(kind=ActivityKind.MESSAGE).values_list("member_id", flat=True)
    ) == [known.pk]


def test_nickname_only_exports_match_a_unique_member_name() -> None:
    chat = group()
    alice, twin_a, twin_b = member("小美"), member("阿明"), member("阿明")
    for person in (alice, twin_a, twin_b):
        group_join(group=chat, member=person, check_gate=False)
    messages_ingest(
        community=chat.community,
        messages=[
            IncomingMessage(group=chat.name, sender_name="小美", text="hi", sent_at=_at(1)),
            IncomingMessage(group=chat.name, sender_name="阿明", text="hi", sent_at=_at(1)),
        ],
    )

    resolved = dict(ChatSender.objects.values_list("display_name", "member_id"))
    assert resolved == {"小美": alice.pk, "阿明": None}  # two 阿明: not guessed


def test_resending_a_batch_stores_nothing_twice() -> None:
    chat = group()
    batch = [msg(chat, "a", "one", 3), msg(chat, "b", "two", 2, message_id="m-2")]

    first = messages_ingest(community=chat.community, messages=batch)
    again = messages_ingest(community=chat.community, messages=batch)

    assert (first.created, first.duplicates) == (2, 0)
    assert (again.created, again.duplicates) == (0, 2)
    assert ChatMessage.objects.count() == 2


def test_a_bad_message_means_nothing_is_stored() -> None:
    chat = group()
    other = group(community())
    batch = [
        msg(chat, "a", "fine"),
        msg(chat, "b", "from the future", hours_ago=-2),
        IncomingMessage(
            group=str(chat.pk), sender_id="x", sent_at=datetime(2026, 1, 1), text="naive"
        ),
        IncomingMessage(group=str(other.pk), sender_id="y", sent_at=_at(1)),
        msg(chat, "c", kind="voice"),
        IncomingMessage(group=str(chat.pk), sent_at=_at(1), text="who?"),
    ]
    for line, message in enumerate(batch):
        message.line = line

    report = messages_ingest(community=chat.community, messages=batch)

    assert {(e.line, e.field) for e in report.errors} == {
        (1, "sent_at"),
        (2, "sent_at"),
        (3, "group"),
        (4, "kind"),
        (5, "sender"),
    }
    assert ChatMessage.objects.count() == 0
    assert ChatSender.objects.count() == 0
    assert not Activity.objects.filter(kind=ActivityKind.MESSAGE).exists()


def test_replies_and_mentions_become_interactions() -> None:
    chat = group()
    a = wecom_member("A", "wm_a_000001")
    b = wecom_member("B", "wm_b_000001")
    c = wecom_member("C", "wm_c_000001")
    batch = [
        IncomingMessage(
            group=str(chat.pk),
            sender_id="wm_a_000001",
            text="问个问题",
            message_id="q1",
            sent_at=_at(3),
        ),
        IncomingMessage(
            group=str(chat.pk),
            sender_id="wm_b_000001",
            text="我来答",
            reply_to="q1",
            sent_at=_at(2),
        ),
        IncomingMessage(
            group=str(chat.pk),
            sender_id="wm_c_000001",
            text="@A @B 同问",
            mentions=["wm_a_000001", "wm_b_000001", "wm_c_000001"],
            sent_at=_at(1),
        ),
    ]

    messages_ingest(community=chat.community, messages=batch)

    replies = list(
        Activity.objects.filter(kind=ActivityKind.REPLY).values_list(
            "member_id", "target_member_id"
        )
    )
    mentions = set(
        Activity.objects.filter(kind=ActivityKind.MENTION).values_list(
            "member_id", "target_member_id"
        )
    )
    assert replies == [(b.pk, a.pk)]
    assert mentions == {(c.pk, a.pk), (c.pk, b.pk)}  # mentioning oneself is no interaction


def test_kol_and_operator_messages_are_marked() -> None:
    chat = group()
    kol = wecom_member("KOL", "wm_kol_00001")
    KolSeat.objects.create(group=chat, member=kol)
    messages_ingest(
        community=chat.community,
        messages=[
            IncomingMessage(
                group=str(chat.pk), sender_id="wm_kol_00001", text="今天讲选品", sent_at=_at(2)
            ),
            IncomingMessage(
                group=str(chat.pk),
                sender_id="owner",
                sender_name="群主",
                text="新品上架 https://shop.example.com 限时优惠",
                role="operator",
                sent_at=_at(1),
            ),
            msg(chat, "spammer", "加我微信领券 wxid_spam01"),
        ],
    )

    rows = {m.sender.external_id: m for m in ChatMessage.objects.select_related("sender")}
    assert rows["wm_kol_00001"].from_kol
    assert rows["owner"].is_promotion
    assert rows["owner"].from_operator
    assert rows["wxid_spammer"].is_promotion
    assert not rows["wxid_spammer"].from_operator
    assert ChatSender.objects.get(external_id="owner").is_operator


def test_dry_run_writes_nothing_but_reports() -> None:
    chat = group()

    report = messages_ingest(community=chat.community, messages=[msg(chat, "a")], dry_run=True)

    assert (report.created, report.dry_run) == (1, True)
    assert ChatMessage.objects.count() == 0
    assert ChatSender.objects.count() == 0


def test_linking_an_unknown_sender_gives_the_member_their_past_messages() -> None:
    chat = group()
    messages_ingest(
        community=chat.community, messages=[msg(chat, "anon", "a"), msg(chat, "anon", "b", 2)]
    )
    person = member()
    sender = ChatSender.objects.get()

    moved = sender_link(sender=sender, member=person)

    assert moved == 2
    assert set(ChatMessage.objects.values_list("member_id", flat=True)) == {person.pk}
    assert Activity.objects.filter(kind=ActivityKind.MESSAGE, member_id=person.pk).count() == 2
    # Future messages of that sender are the member's at once.
    messages_ingest(community=chat.community, messages=[msg(chat, "anon", "c", 0.5)])
    assert ChatMessage.objects.filter(member_id=person.pk).count() == 3


# -- files --------------------------------------------------------------------------------


def test_csv_export_with_chinese_headers(tmp_path: Path) -> None:
    chat = group()
    path = tmp_path / "chat.csv"
    path.write_text(
        "时间,群名,发送者,类型,内容\n"
        f"2026-01-05 09:00,{chat.name},老王,文本,早上好\n"
        f"2026-01-05 09:01,{chat.name},小李,链接,https://t.cn/abc\n",
        encoding="utf-8-sig",
    )

    parsed = chat_file_read(path)
    report = messages_ingest(community=chat.community, messages=parsed.messages)

    assert report.created == 2
    first = ChatMessage.objects.order_by("sent_at").first()
    assert first is not None
    assert timezone.localtime(first.sent_at).hour == 9  # read in the hub's time zone
    assert ChatMessage.objects.filter(is_promotion=True).count() == 1


def test_malformed_csv_lines_are_reported_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "chat.csv"
    path.write_text(
        "time,group,sender,content\n"
        "2026-01-05 09:00,G,a,ok\n"
        "yesterday,G,b,bad time\n"
        ",G,c,no time\n",
        encoding="utf-8",
    )

    parsed = chat_file_read(path)

    assert [(e.line, e.field) for e in parsed.errors] == [(3, "time"), (4, "time")]


def test_json_export_and_broken_json(tmp_path: Path) -> None:
    chat = group()
    good = tmp_path / "chat.json"
    good.write_text(
        json.dumps(
            {
                "messages": [
                    {
                        "time": "2026-01-05T09:00:00+08:00",
                        "group": chat.name,
                        "sender": "a",
                        "content": "hi",
                        "mentions": ["b"],
                    },
                    {
                        "time": "2026-01-05T09:05:00+08:00",
                        "group": chat.name,
                        "sender": "b",
                        "type": "红包",
                    },
                ]
            }
        ),
        encoding="utf-8",
    )
    broken = tmp_path / "broken.json"
    broken.write_text('{"messages": [', encoding="utf-8")

    parsed = chat_file_read(good)

    assert [m.kind for m in parsed.messages] == ["text", "red_packet"]
    assert parsed.messages[0].mentions == ["b"]
    with pytest.raises(ChatFileInvalid):
        chat_file_read(broken)


def test_missing_columns_are_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "chat.csv"
    path.write_text("who,what\na,b\n", encoding="utf-8")

    with pytest.raises(ChatFileInvalid, match="time"):
        chat_file_read(path)


# -- CLI and API ----------------------------------------------------------------------------


def test_cli_import_and_refusal(tmp_path: Path, capsys: Any) -> None:
    from quanzi.cli import main

    chat = group()
    path = tmp_path / "chat.csv"
    path.write_text(
        f"time,group,sender,content\n2026-01-05 09:00,{chat.name},a,hi\n2099-01-01 09:00,{chat.name},b,future\n",
        encoding="utf-8",
    )
    with pytest.raises(SystemExit) as refused:
        main(["import", "chats", str(path), "--community", chat.community.slug])
    assert refused.value.code == 1
    out = capsys.readouterr()
    assert "line 3: sent_at" in out.out
    assert "nothing was imported" in out.err
    assert ChatMessage.objects.count() == 0

    path.write_text(
        f"time,group,sender,content\n2026-01-05 09:00,{chat.name},a,hi\n", encoding="utf-8"
    )
    with pytest.raises(SystemExit) as done:
        main(["import", "chats", str(path), "--community", chat.community.slug])
    assert done.value.code in (0, None)
    assert "imported 1" in capsys.readouterr().out
    assert ChatMessage.objects.count() == 1


def test_api_batch_and_its_errors(api: Any) -> None:
    chat = group()
    slug = chat.community.slug
    good = {
        "group": str(chat.pk),
        "sent_at": _at(1).isoformat(),
        "sender_id": "wxid_a",
        "text": "hello",
        "message_id": "x1",
    }

    created = api.post(f"/api/v1/communities/{slug}/messages", {"messages": [good]})
    again = api.post(f"/api/v1/communities/{slug}/messages", {"messages": [good]})
    bad = api.post(
        f"/api/v1/communities/{slug}/messages",
        {"messages": [good, {**good, "message_id": "x2", "kind": "voice"}]},
    )

    assert created.status_code == 201
    assert created.json()["created"] == 1
    assert again.json()["duplicates"] == 1
    assert bad.status_code == 422
    assert "messages.1.kind" in bad.json()["error"]["fields"]
    assert ChatMessage.objects.count() == 1


def test_api_unknown_senders_and_linking(api: Any) -> None:
    chat = group()
    slug = chat.community.slug
    messages_ingest(community=chat.community, messages=[msg(chat, "anon")])
    person = member()

    listed = api.get(f"/api/v1/communities/{slug}/chat-senders?known=false")
    sender_id = listed.json()["items"][0]["id"]
    linked = api.post(f"/api/v1/chat-senders/{sender_id}/link", {"member_id": person.pk})
    missing = api.post("/api/v1/chat-senders/999999/link", {"member_id": person.pk})

    assert listed.json()["count"] == 1
    assert linked.status_code == 200
    assert linked.json()["member_id"] == person.pk
    assert missing.status_code == 404
    assert api.get(f"/api/v1/communities/{slug}/chat-senders?known=false").json()["count"] == 0


def test_api_upload_export(api: Any, client: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    chat = group()
    body = f"time,group,sender,content\n2026-01-05 09:00,{chat.name},a,hi\n".encode()
    upload = SimpleUploadedFile("chat.csv", body, content_type="text/csv")

    response = client.post(
        f"/api/v1/communities/{chat.community.slug}/messages/import",
        {"file": upload},
        headers=api.headers,
    )

    assert response.status_code == 200, response.content
    assert response.json()["created"] == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_batch_sent_twice_at_once_is_stored_once() -> None:
    from quanzi.members.tests.factories import in_threads

    chat = group()
    circle: Community = chat.community
    batch = [msg(chat, f"s{i}", f"message {i}", hours_ago=i / 10 + 0.1) for i in range(50)]

    in_threads(2, lambda _: messages_ingest(community=circle, messages=batch))

    assert ChatMessage.objects.count() == 50
    assert ChatSender.objects.count() == 50


def test_export_times_without_a_zone_are_in_the_hubs_time_zone(settings: Any) -> None:
    from zoneinfo import ZoneInfo

    from quanzi.analytics.chat_files import parse_time

    settings.TIME_ZONE = "Asia/Shanghai"
    with timezone.override(ZoneInfo("Europe/London")):  # a request's zone does not matter
        moment, problem = parse_time("2026-01-05 09:00")
    assert problem == ""
    assert moment == datetime(2026, 1, 5, 1, 0, tzinfo=ZoneInfo("UTC"))
    assert parse_time("1767574800")[0] == datetime(2026, 1, 5, 1, 0, tzinfo=ZoneInfo("UTC"))
    assert parse_time("2026-01-05T09:00:00+09:00")[0] == datetime(
        2026, 1, 5, 0, 0, tzinfo=ZoneInfo("UTC")
    )
    assert parse_time("yesterday")[1]
    assert parse_time("")[1]


def test_api_refuses_naive_missing_and_unauthenticated(api: Any, client: Any) -> None:
    chat = group()
    url = f"/api/v1/communities/{chat.community.slug}/messages"
    good = {"group": str(chat.pk), "sent_at": _at(1).isoformat(), "sender_id": "wxid_a"}
    naive = {**good, "sent_at": "2026-01-05T09:00:00"}
    missing = {"group": str(chat.pk), "sender_id": "wxid_b"}

    refused = api.post(url, {"messages": [good, naive]})
    incomplete = api.post(url, {"messages": [good, missing]})
    anonymous = client.post(url, {"messages": [good]}, content_type="application/json")

    assert refused.status_code == 422
    assert list(refused.json()["error"]["fields"]) == ["messages.1.sent_at"]
    assert incomplete.status_code == 422
    assert any("messages.1.sent_at" in f for f in incomplete.json()["error"]["fields"])
    assert anonymous.status_code == 401
    assert ChatMessage.objects.count() == 0


def test_api_upload_dry_run_and_bad_lines(api: Any, client: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    chat = group()
    url = f"/api/v1/communities/{chat.community.slug}/messages/import"
    good = f"时间,群名,发送者,内容\n2026-01-05 09:00,{chat.name},小王,早\n".encode()
    bad = (
        f"时间,群名,发送者,内容,类型\n昨天,{chat.name},a,hi,text\n2026-01-05 09:00,nope,b,x,语音\n"
    )

    dry = client.post(
        url,
        {"file": SimpleUploadedFile("c.csv", good), "dry_run": "true"},
        headers=api.headers,
    )
    refused = client.post(
        url, {"file": SimpleUploadedFile("c.csv", bad.encode())}, headers=api.headers
    )
    broken = client.post(
        url, {"file": SimpleUploadedFile("c.json", b"{not json")}, headers=api.headers
    )

    assert dry.status_code == 200, dry.content
    assert (dry.json()["created"], dry.json()["dry_run"]) == (1, True)
    assert refused.status_code == 422
    assert {"line.2.time", "line.3.group", "line.3.kind"} <= set(refused.json()["error"]["fields"])
    assert broken.status_code == 422
    assert "file" in broken.json()["error"]["fields"]
    assert ChatMessage.objects.count() == 0


def test_cli_reports_every_bad_line_at_once(tmp_path: Path, capsys: Any) -> None:
    from quanzi.cli import main

    chat = group()
    path = tmp_path / "chat.json"
    path.write_text(
        json.dumps(
            {
                "messages": [
                    {"time": "not a time", "group": chat.name, "sender": "a", "text": "hi"},
                    {"time": "2026-01-05 09:00", "group": "nope", "sender": "b", "text": "x"},
                    {"time": "2026-01-05 09:01", "group": chat.name, "sender": "c", "text": "ok"},
                ]
            }
        ),
        encoding="utf-8",
    )
    with pytest.raises(SystemExit) as refused:
        main(["import", "chats", str(path), "--community", chat.community.slug, "--dry-run"])

    out = capsys.readouterr()
    assert refused.value.code == 1
    assert "line 1: time" in out.out
    assert "line 2: group" in out.out
    assert "line 3" not in out.out
    assert ChatMessage.objects.count() == 0
