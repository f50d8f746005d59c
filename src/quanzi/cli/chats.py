"""``quanzi import chats``: group chat history exported from WeChat or a bot."""

from __future__ import annotations

from pathlib import Path

import click

from quanzi.cli.setup import django_setup


@click.command("chats")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--community", "slug", required=True, help="The community's slug.")
@click.option(
    "--group",
    "group",
    default="",
    help="The group, for an export of one chat with no group column.",
)
@click.option("--dry-run", is_flag=True, help="Check every message and report; write nothing.")
def import_chats(file: Path, slug: str, group: str, dry_run: bool) -> None:
    """Import group chat history from FILE (.csv or .json): all messages, or none if any is bad.

    \b
    Columns or keys (Chinese names work too): time (时间), group (群名), sender (发送者/昵称),
    sender_id (微信号/wxid), kind (类型: text, link, image, mini_program, qr, red_packet),
    content (内容), and optionally message_id, reply_to (回复), mentions (提及), role.
    A time without a zone is in the hub's time zone. Messages already imported are skipped.
    """
    django_setup()
    from tqdm import tqdm

    from quanzi.analytics.chat_files import ChatFileInvalid, chat_file_read
    from quanzi.analytics.models import MessageSource
    from quanzi.analytics.services.messages import messages_check, messages_ingest
    from quanzi.communities.selectors import community_by_slug

    target = community_by_slug(slug)
    try:
        parsed = chat_file_read(file, group=group)
    except ChatFileInvalid as exc:
        raise click.ClickException(f"{file.name}: {exc}") from None
    errors = list(parsed.errors)
    if errors:  # the lines that did parse may be wrong too: report them all at once
        errors += messages_check(community=target, messages=parsed.messages)
    report = None
    if not errors:
        with tqdm(
            total=len(parsed.messages),
            desc="messages",
            unit="msg",
            leave=False,
            disable=len(parsed.messages) < 500,
        ) as bar:
            report = messages_ingest(
                community=target,
                messages=parsed.messages,
                source=MessageSource.IMPORT,
                dry_run=dry_run,
                track=bar.update,
            )
        errors = list(report.errors)
    if errors:
        for error in sorted(errors, key=lambda e: e.line):
            click.echo(f"  line {error.line}: {error.field}: {error.reason}")
        click.echo(
            f"quanzi: {len(errors)} bad message(s) in {file.name}; nothing was imported.",
            err=True,
        )
        raise SystemExit(1)
    assert report is not None
    verb = "would import" if dry_run else "imported"
    click.echo(
        f"{file.name}: {report.messages} messages checked; {verb} {report.created} "
        f"({report.duplicates} already there, {report.unknown_senders} from unknown senders, "
        f"{report.promotions} promotion)" + (" — dry run: nothing written." if dry_run else ".")
    )
