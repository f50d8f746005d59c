"""Where apps above ``members`` plug into a member's life without ``members`` importing them.

The communities, commerce and rewards apps register here in their ``AppConfig.ready``: what to
re-point when two members merge, what to add to a member's data export, what to tell the
lifecycle rules. Explicit lists, called in order, inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quanzi.members.models import Member

# (source, target): move everything of ``source`` that is not history onto ``target``.
merge_handlers: list[Callable[[Member, Member], None]] = []
# member: erase what personal data the app holds about them (addresses, notes).
anonymise_handlers: list[Callable[[Member], None]] = []
# member -> a JSON-able section of their data export, under the given name.
export_sections: dict[str, Callable[[Member], Any]] = {}
# member ids -> ids of those among them who sit in a core-fans group / hold a KOL seat.
core_group_members: list[Callable[[list[int]], set[int]]] = []
kol_seat_holders: list[Callable[[list[int]], set[int]]] = []
# member ids -> {id: level} that the member holds at least (a growth level earned with
# crystals); the lifecycle's own level never takes a member below it.
level_floors: list[Callable[[list[int]], dict[int, str]]] = []
