"""Test data for the outbox, queued through the service the code itself uses."""

from __future__ import annotations

import itertools
from typing import Any

from quanzi.members.models import Member
from quanzi.outbox.models import OutboxMessage, Purpose
from quanzi.outbox.services import outbox_enqueue

_seq = itertools.count(1)


def message(to: Member, **kwargs: Any) -> OutboxMessage:
    """A service message to ``to`` with a key no other test uses, unless told otherwise."""
    n = next(_seq)
    kwargs.setdefault("template", "test")
    kwargs.setdefault("body", f"message {n}")
    kwargs.setdefault("purpose", Purpose.SERVICE)
    kwargs.setdefault("dedupe_key", f"test:{n}")
    return outbox_enqueue(member=to, **kwargs)
