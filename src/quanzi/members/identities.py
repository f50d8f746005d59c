"""Normalising identity values, so that one person typed two ways is still one person."""

from __future__ import annotations

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from quanzi.core import crypto
from quanzi.core.errors import ApplicationError
from quanzi.members.models import IdentityKind

_WECHAT_ID = re.compile(r"^[A-Za-z0-9_-]{6,64}$")
_PLATFORM = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
_BUYER_ID = re.compile(r"^[\w.@:-]{1,64}$")


class IdentityInvalid(ApplicationError):
    code = "identity_invalid"


def normalise(kind: str, value: str, namespace: str = "", *, region: str = "CN") -> tuple[str, str]:
    """``(namespace, value)`` in canonical form, or IdentityInvalid saying what is wrong."""
    if kind not in IdentityKind.values:
        raise IdentityInvalid(_("Unknown identity kind %(kind)r.") % {"kind": kind}, field="kind")
    raw = (value or "").strip()
    ns = (namespace or "").strip()
    if not raw:
        raise IdentityInvalid(_("The %(kind)s is empty.") % {"kind": kind}, field=kind)
    if kind == IdentityKind.PHONE:
        return "", normalise_phone(raw, region=region)
    if kind == IdentityKind.EMAIL:
        try:
            validate_email(raw)
        except ValidationError:
            raise IdentityInvalid(
                _("%(value)r is not an e-mail address.") % {"value": raw}, field="email"
            ) from None
        local, _at, domain = raw.rpartition("@")
        return "", f"{local}@{domain.lower()}"
    if kind == IdentityKind.PLATFORM_BUYER:
        if not _PLATFORM.match(ns):
            raise IdentityInvalid(
                _("A platform buyer id needs its platform (douyin, taobao, xiaohongshu, ...)."),
                field="namespace",
            )
        if not _BUYER_ID.match(raw):
            raise IdentityInvalid(_("%(value)r is not a buyer id.") % {"value": raw}, field=kind)
        return ns, raw
    if not _WECHAT_ID.match(raw):
        raise IdentityInvalid(
            _("%(value)r is not a valid %(kind)s.") % {"value": raw, "kind": kind}, field=kind
        )
    if kind == IdentityKind.WECHAT_OPENID and not ns:
        raise IdentityInvalid(_("An openid belongs to one app: give its appid."), field="namespace")
    return (ns if kind == IdentityKind.WECHAT_OPENID else ""), raw


def normalise_phone(raw: str, *, region: str = "CN") -> str:
    """E.164: ``+8613812345678``. Mainland numbers may be written without +86."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise IdentityInvalid(
            _("%(value)r is not a phone number.") % {"value": raw}, field="phone"
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise IdentityInvalid(
            _("%(value)r is not a valid phone number.") % {"value": raw}, field="phone"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def masked(kind: str, value: str) -> str:
    if kind == IdentityKind.PHONE:
        national = value.removeprefix("+86")
        return crypto.mask(national)
    if kind == IdentityKind.EMAIL:
        return crypto.mask_email(value)
    return crypto.mask(value, keep_start=4, keep_end=3)


def lookup_hash(kind: str, namespace: str, value: str) -> str:
    return crypto.keyed_hash(f"{kind}/{namespace}", value)
