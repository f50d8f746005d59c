"""Forms of the console's member pages: they check what was typed and say what is wrong, in
the operator's language; the services check again and own every rule."""

from __future__ import annotations

import re
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from quanzi.console.labels import channel_choices
from quanzi.members.identities import IdentityInvalid, normalise_phone
from quanzi.members.models import IdentityKind, Level, Stage
from quanzi.members.services import IdentityIn

# "Prospect" (no stage yet) is stored as "", which a select cannot tell from "any stage".
PROSPECT = "none"
_UNIONID = re.compile(r"^[A-Za-z0-9_-]{6,64}$")
_TAG_SPLIT = re.compile(r"[,，、;；\n]+")


def split_tags(text: str) -> list[str]:
    """``"VIP, 复购，宝妈"`` → ``["VIP", "复购", "宝妈"]``: commas of both widths, 、 and ;."""
    return [t.strip() for t in _TAG_SPLIT.split(text or "") if t.strip()]


class MemberFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"placeholder": _("Name, or a full phone, e-mail or unionid"), "type": "search"}
        ),
    )
    tag = forms.ChoiceField(label=_("Tag"), required=False)
    stage = forms.ChoiceField(label=_("Stage"), required=False)
    level = forms.ChoiceField(label=_("Level"), required=False)
    channel = forms.ChoiceField(label=_("Source channel"), required=False)

    def __init__(self, *args: Any, tags: list[str], channels: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["tag"]).choices = [
            ("", _("All tags")),
            *((t, t) for t in tags),
        ]
        cast(forms.ChoiceField, self.fields["stage"]).choices = [
            ("", _("All stages")),
            *((value or PROSPECT, label) for value, label in Stage.choices),
        ]
        cast(forms.ChoiceField, self.fields["level"]).choices = [
            ("", _("All levels")),
            *Level.choices,
        ]
        cast(forms.ChoiceField, self.fields["channel"]).choices = [
            ("", _("All channels")),
            *channel_choices(channels, only_given=True),
        ]

    def filters(self) -> dict[str, Any]:
        """Keyword arguments for ``member_list``; a field that did not validate filters nothing."""
        data = self.cleaned_data if self.is_valid() else {}
        stage = data.get("stage") or ""
        return {
            "q": data.get("q") or "",
            "tag": data.get("tag") or "",
            "stage": None if not stage else ("" if stage == PROSPECT else stage),
            "level": data.get("level") or "",
            "channel": data.get("channel") or "",
        }

    @property
    def active(self) -> bool:
        return any(self.filters().values()) or self.filters()["stage"] == ""


class MemberAddForm(forms.Form):
    display_name = forms.CharField(label=_("Name"), max_length=100)
    phone = forms.CharField(
        label=_("Phone"),
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    email = forms.EmailField(label=_("E-mail"), required=False, max_length=200)
    unionid = forms.CharField(label=_("WeChat unionid"), required=False, max_length=64)
    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        max_length=500,
        help_text=_("Separate tags with commas."),
        widget=forms.TextInput(attrs={"placeholder": _("e.g. VIP, repeat buyer")}),
    )
    channel = forms.ChoiceField(label=_("Source channel"), required=False)

    def __init__(self, *args: Any, channels: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["channel"]).choices = [
            ("", _("Unknown")),
            *channel_choices(channels),
        ]

    def clean_phone(self) -> str:
        raw = self.cleaned_data.get("phone", "").strip()
        if not raw:
            return ""
        try:
            return normalise_phone(raw)
        except IdentityInvalid:
            raise ValidationError(
                _("This is not a phone number we can use, e.g. 138 0013 8000 or +86 138 0013 8000.")
            ) from None

    def clean_unionid(self) -> str:
        value = str(self.cleaned_data.get("unionid") or "").strip()
        if value and not _UNIONID.match(value):
            raise ValidationError(_("A unionid is 6-64 letters, digits, - or _."))
        return value

    def clean_tags(self) -> list[str]:
        tags = split_tags(self.cleaned_data.get("tags", ""))
        if any(len(t) > 50 for t in tags):
            raise ValidationError(_("A tag is at most 50 characters."))
        return tags

    def identities(self) -> list[IdentityIn]:
        data = self.cleaned_data
        pairs = [
            (IdentityKind.PHONE, data.get("phone")),
            (IdentityKind.EMAIL, data.get("email")),
            (IdentityKind.WECHAT_UNIONID, data.get("unionid")),
        ]
        return [IdentityIn(kind, value) for kind, value in pairs if value]


class TagsForm(forms.Form):
    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        max_length=1000,
        help_text=_("Separate tags with commas. Remove a tag by deleting it here."),
    )

    def clean_tags(self) -> list[str]:
        tags = split_tags(self.cleaned_data.get("tags", ""))
        if any(len(t) > 50 for t in tags):
            raise ValidationError(_("A tag is at most 50 characters."))
        return tags


class MergeForm(forms.Form):
    target = forms.IntegerField(
        label=_("Merge into member #"),
        min_value=1,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "placeholder": "1024"}),
    )
    confirm = forms.BooleanField(
        label=_("I checked: both records are the same person."),
        error_messages={"required": _("Tick the box to confirm the merge.")},
    )

    def __init__(self, *args: Any, member_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.member_id = member_id

    def clean_target(self) -> int:
        target = int(self.cleaned_data["target"])
        if target == self.member_id:
            raise ValidationError(_("Choose another member: a record cannot merge into itself."))
        return target


class AnonymiseForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("The member asked for this. Delete their personal data."),
        error_messages={"required": _("Tick the box to confirm the deletion.")},
    )
