"""``quanzi import chats``: group chat history exported from WeChat or a bot."""

from __future__ import annotations

import click


@click.command("chats")
def import_chats() -> None:
    """Group chat history from CSV or JSON (not built yet)."""
    raise click.ClickException("not built yet")
