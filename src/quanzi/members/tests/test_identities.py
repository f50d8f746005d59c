"""One person, many identities: found again however they are written, stored encrypted, masked."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection

from quanzi.core import crypto
from quanzi.core.models import Activity, ActivityKind
from quanzi.members.identities import IdentityInvalid, normalise
from quanzi.members.models import Identity, IdentityKind, Member
from quanzi.members.selectors import (
    PermissionRefused,
    identities_for,
    member_ids_by_identity_value,
    member_list,
)
from quanzi.members.services import (
    DuplicateIdentity,
    IdentityIn,
    MemberError,
    identity_add,
    member_identify,
)
from quanzi.members.tests.factories import member, members_state

pytestmark = pytest.mark.django_db

PHONE = IdentityKind.PHONE
UNIONID = IdentityKind.WECHAT_UNIONID


def test_identify_creates_a_member_with_encrypted_masked_identities() -> None:
    # When
    found, created = member_identify(
        display_name="  Li Lei ",
        identities=[IdentityIn(PHONE, "138 1234 5678"), IdentityIn(UNIONID, "oUnion_abc123")],
        source_channel="douyin",
        source_content="video-7",
    )

    # Then
    assert created is True
    assert (found.display_name, found.source_channel, found.source_content) == (
        "Li Lei",
        "douyin",
        "video-7",
    )
    rows = {i.kind: i for i in Identity.objects.filter(member=found)}
    assert set(rows) == {PHONE, UNIONID}
    assert rows[PHONE].value_masked == "138****5678"
    assert rows[UNIONID].value_masked == "oUni****123"
    assert crypto.decrypt(rows[PHONE].value_encrypted) == "+8613812345678"
    assert crypto.decrypt(rows[UNIONID].value_encrypted) == "oUnion_abc123"
    created_log = Activity.objects.get(kind=ActivityKind.MEMBER, member_id=found.pk)
    assert created_log.channel == "douyin"
    assert created_log.data == {"action": "created", "identities": [PHONE, UNIONID]}


def test_the_raw_value_never_appears_in_the_database_row() -> None:
    # Given
    found = member(phone="138 1234 5678", unionid="oUnion_secret_99")

    # When: the rows as the database holds them, every column as text
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM {Identity._meta.db_table} WHERE member_id = %s",  # noqa: S608
            [found.pk],
        )
        raw = " ".join(str(column) for row in cursor.fetchall() for column in row)

    # Then
    for secret in ("13812345678", "12345678", "oUnion_secret_99", "secret_99"):
        assert secret not in raw
    assert "138****5678" in raw


@pytest.mark.parametrize("written", ["138 1234 5678", "+86 138-1234-5678", "13812345678"])
def test_the_same_phone_written_differently_attaches_to_the_member(written: str) -> None:
    # Given
    first = member("first", phone="13812345678")
    before = Identity.objects.count()

    # When
    found, created = member_identify(
        display_name="typed again",
        identities=[IdentityIn(PHONE, written), IdentityIn(UNIONID, "oUnion_new_1")],
    )

    # Then: the phone was known, the unionid joins the same member, the name is not overwritten
    assert (found.pk, created) == (first.pk, False)
    assert Member.objects.count() == 1
    assert Identity.objects.count() == before + 1
    assert set(found.identities.values_list("kind", flat=True)) == {PHONE, UNIONID}
    assert Member.objects.get(pk=first.pk).display_name == "first"
    assert (
        Activity.objects.filter(member_id=first.pk, data__action="identified").values_list(
            "data", flat=True
        )
    ).get() == {"action": "identified", "identities": [PHONE, UNIONID]}


def test_the_same_unionid_attaches_a_new_phone_to_the_member() -> None:
    # Given
    first = member(unionid="oUnion_same_1")

    # When
    found, created = member_identify(
        display_name="x",
        identities=[IdentityIn(UNIONID, "oUnion_same_1"), IdentityIn(PHONE, "138 0000 1111")],
    )

    # Then
    assert (found.pk, created) == (first.pk, False)
    assert Member.objects.count() == 1
    phones = Identity.objects.filter(member=first, kind=PHONE).order_by("pk")
    assert [p.value_masked for p in phones][1:] == ["138****1111"]


def test_identify_twice_with_the_same_identities_adds_nothing() -> None:
    # Given
    first = member(phone="13812345678", unionid="oUnion_twice")
    identities = Identity.objects.count()

    # When
    found, created = member_identify(
        display_name="again",
        identities=[IdentityIn(PHONE, "+86 138 1234 5678"), IdentityIn(UNIONID, "oUnion_twice")],
    )

    # Then
    assert (found.pk, created) == (first.pk, False)
    assert Identity.objects.count() == identities


def test_identities_of_two_different_members_are_refused_and_nothing_is_written() -> None:
    # Given
    a = member("a", phone="13812345678")
    b = member("b", unionid="oUnion_of_b")
    before = members_state()

    # When
    with pytest.raises(DuplicateIdentity) as refused:
        member_identify(
            display_name="both",
            identities=[
                IdentityIn(PHONE, "138 1234 5678"),
                IdentityIn(UNIONID, "oUnion_of_b"),
                IdentityIn(IdentityKind.EMAIL, "new@example.com"),
            ],
        )

    # Then
    assert (refused.value.code, refused.value.status) == ("duplicate_identity", 409)
    assert f"#{a.pk}" in refused.value.message
    assert f"#{b.pk}" in refused.value.message
    assert list(refused.value.fields) == ["identities"]
    assert members_state() == before


def test_adding_another_members_identity_is_refused() -> None:
    # Given
    owner = member("owner", phone="13812345678")
    other = member("other")
    before = members_state()

    # When
    with pytest.raises(DuplicateIdentity) as refused:
        identity_add(member=other, kind=PHONE, value="+86 138-1234-5678")

    # Then
    assert (refused.value.code, refused.value.status) == ("duplicate_identity", 409)
    assert f"#{owner.pk}" in refused.value.message
    assert list(refused.value.fields) == [PHONE]
    assert members_state() == before


def test_adding_an_identity_the_member_holds_returns_it() -> None:
    # Given
    owner = member("owner", phone="13812345678")
    held = Identity.objects.get(member=owner, kind=PHONE)
    before = members_state()

    # When
    again = identity_add(member=owner, kind=PHONE, value="138 1234 5678")

    # Then
    assert again.pk == held.pk
    assert members_state() == before


def test_identity_add_records_the_new_identity() -> None:
    # Given
    owner = member("owner")

    # When
    added = identity_add(member=owner, kind=IdentityKind.EMAIL, value="Li.Lei@Example.COM")

    # Then: the domain is lower-cased, the local part kept as typed
    assert crypto.decrypt(added.value_encrypted) == "Li.Lei@example.com"
    assert added.value_masked == "L***@example.com"
    assert Activity.objects.filter(
        member_id=owner.pk, object_type="identity", object_id=str(added.pk)
    ).values_list("data", flat=True).get() == {"action": "identity_added", "kind": "email"}


@pytest.mark.parametrize(
    ("kind", "value", "namespace", "field"),
    [
        (PHONE, "12345", "", "phone"),
        (PHONE, "not a phone", "", "phone"),
        (PHONE, "12345678901", "", "phone"),
        (IdentityKind.EMAIL, "li.lei@", "", "email"),
        (IdentityKind.EMAIL, "no-at-sign", "", "email"),
        (IdentityKind.WECHAT_OPENID, "oOpenid_abc123", "", "namespace"),
        (UNIONID, "bad id!", "", UNIONID),
        (IdentityKind.PLATFORM_BUYER, "buyer-1", "", "namespace"),
        (PHONE, "   ", "", PHONE),
        ("fax", "123", "", "kind"),
    ],
)
def test_invalid_identities_are_refused_with_the_field_and_nothing_written(
    kind: str, value: str, namespace: str, field: str
) -> None:
    # Given
    before = members_state()

    # When
    with pytest.raises(IdentityInvalid) as refused:
        member_identify(display_name="x", identities=[IdentityIn(kind, value, namespace)])

    # Then
    assert refused.value.code == "identity_invalid"
    assert list(refused.value.fields) == [field]
    assert refused.value.fields[field] == [refused.value.message]
    assert members_state() == before


def test_invalid_identity_add_is_refused_and_nothing_written() -> None:
    # Given
    owner = member()
    before = members_state()

    # When
    with pytest.raises(IdentityInvalid) as refused:
        identity_add(member=owner, kind=IdentityKind.WECHAT_OPENID, value="oOpenid_abc123")

    # Then
    assert refused.value.fields == {"namespace": ["An openid belongs to one app: give its appid."]}
    assert members_state() == before


def test_an_openid_belongs_to_its_app() -> None:
    # Given: one openid string under two apps is two identities
    owner = member()

    # When
    one = identity_add(
        member=owner, kind=IdentityKind.WECHAT_OPENID, value="oOpenid_abc123", namespace="wxapp1"
    )
    other = member()
    two = identity_add(
        member=other, kind=IdentityKind.WECHAT_OPENID, value="oOpenid_abc123", namespace="wxapp2"
    )

    # Then
    assert (one.member_id, two.member_id) == (owner.pk, other.pk)
    assert one.value_hash != two.value_hash


def test_a_display_name_is_required() -> None:
    # Given
    before = members_state()

    # When
    with pytest.raises(MemberError) as refused:
        member_identify(display_name="  ", identities=[IdentityIn(PHONE, "13812345678")])

    # Then
    assert refused.value.fields == {"display_name": ["A member needs a display name."]}
    assert members_state() == before


def test_normalise_gives_one_canonical_form() -> None:
    assert normalise(PHONE, " 138 1234 5678 ") == ("", "+8613812345678")
    assert normalise(PHONE, "+86 138-1234-5678") == ("", "+8613812345678")
    assert normalise(IdentityKind.EMAIL, "Li@EXAMPLE.com") == ("", "Li@example.com")
    assert normalise(IdentityKind.PLATFORM_BUYER, "tb_778", "taobao") == ("taobao", "tb_778")
    assert normalise(IdentityKind.WECHAT_OPENID, "oOpenid_abc123", "wxapp1") == (
        "wxapp1",
        "oOpenid_abc123",
    )
    # Only an openid carries a namespace among the WeChat ids.
    assert normalise(UNIONID, "oUnion_abc123", "ignored") == ("", "oUnion_abc123")


def test_members_are_found_by_an_exact_phone_however_written() -> None:
    # Given
    owner = member("Han Meimei", phone="13812345678")
    member("someone else")

    # When / Then
    assert member_ids_by_identity_value("138 1234 5678") == [owner.pk]
    assert list(member_list(q="+86 138-1234-5678").values_list("pk", flat=True)) == [owner.pk]
    assert list(member_list(q="1381234").values_list("pk", flat=True)) == []


def test_identities_are_masked_unless_revealed() -> None:
    # Given
    owner = member(phone="13812345678")

    # When
    shown = identities_for(owner, user=None)

    # Then
    assert [(i["kind"], i["value"], i["masked"]) for i in shown] == [(PHONE, "138****5678", True)]


def test_revealing_identities_needs_the_personal_data_permission() -> None:
    # Given: an operator who is neither superuser nor holds the permission
    owner = member(phone="13812345678")
    clerk = get_user_model().objects.create_user(username="clerk", password="x-Long-pass-42")

    # When
    with pytest.raises(PermissionRefused) as refused:
        identities_for(owner, user=clerk, reveal=True)

    # Then
    assert (refused.value.code, refused.value.status) == ("forbidden", 403)
    assert list(refused.value.fields) == ["reveal"]
    with pytest.raises(PermissionRefused):
        identities_for(owner, user=None, reveal=True)


def test_the_permission_or_a_superuser_reveals_identities(operator: object) -> None:
    # Given
    owner = member(phone="13812345678")
    clerk = get_user_model().objects.create_user(username="clerk", password="x-Long-pass-42")
    clerk.user_permissions.add(
        Permission.objects.get(codename="view_personal_data", content_type__app_label="members")
    )
    clerk = get_user_model().objects.get(pk=clerk.pk)  # permissions are cached per instance

    # When / Then: the operator fixture is a superuser
    for user in (clerk, operator):
        shown = identities_for(owner, user=user, reveal=True)
        assert [(i["value"], i["masked"]) for i in shown] == [("+8613812345678", False)]
