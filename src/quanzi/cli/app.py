from __future__ import annotations

import secrets
import sys

import click

from quanzi.cli import rollups as _rollups  # noqa: F401  (registers its commands)
from quanzi.cli import value as _value  # noqa: F401  (registers its commands)
from quanzi.cli.analytics import analytics_group
from quanzi.cli.chats import import_chats
from quanzi.cli.history import import_orders
from quanzi.cli.members import community, export_group, import_group
from quanzi.cli.setup import django_setup, migrate_with_progress
from quanzi.cli.simulate import simulate

HELP = """Quanzi (圈子): your private-domain community commerce hub.

\b
Start here:
  quanzi demo                 set up the embedded database, load a demo, serve it
  quanzi serve                serve the hub (production server)
  quanzi worker               run scheduled jobs
  quanzi community list       your communities (create one: quanzi community create)
  quanzi import members FILE  members from CSV or Excel (--dry-run checks every row)

Settings come from the environment: QUANZI_HOME (data folder, default ~/.quanzi),
DATABASE_URL (default: SQLite in the data folder), QUANZI_PROFILE=production for HTTPS.
"""


@click.group(help=HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="quanzi", prog_name="quanzi")
def cli() -> None:
    pass


cli.add_command(community)
cli.add_command(import_group)
cli.add_command(export_group)
cli.add_command(analytics_group)
cli.add_command(simulate)
import_group.add_command(import_orders)
import_group.add_command(import_chats)


@cli.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    django_setup()
    applied = migrate_with_progress()
    click.echo(f"Database is up to date ({applied} migration(s) applied).")


@cli.command()
@click.argument("username")
@click.option("--email", default="", help="The operator's e-mail address.")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (for scripts)."
)
@click.option(
    "--reset-password", is_flag=True, help="Give an existing operator a new generated password."
)
def createoperator(username: str, email: str, password_stdin: bool, reset_password: bool) -> None:
    """Create an operator who can sign in to the console (prints the password once)."""
    django_setup()
    from quanzi.core.services.tokens import operator_create, operator_set_password

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    if password_stdin and not password:
        raise click.UsageError("--password-stdin read an empty password")
    if reset_password:
        new = operator_set_password(username=username, password=password)
        click.echo(
            f"Password of {username} changed." + ("" if password else f" New password: {new}")
        )
        return
    _, generated = operator_create(username=username, password=password, email=email)
    click.echo(f"Operator {username} created.")
    if not password:
        click.echo(f"Password (shown once): {generated}")


@cli.group()
def token() -> None:
    """API tokens for operators."""


@token.command("create")
@click.argument("username")
@click.option("--name", default="cli", show_default=True, help="A label to recognise the token.")
def token_create(username: str, name: str) -> None:
    """Print a new API token for USERNAME (send it as Authorization: Bearer ...)."""
    django_setup()
    from quanzi.core.services.tokens import api_token_create

    _, raw = api_token_create(username=username, name=name)
    click.echo(raw)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers", default=None, type=click.IntRange(1, 64), help="Server processes [2 x cores + 1]."
)
@click.option("--no-worker", is_flag=True, help="Do not run scheduled jobs beside the server.")
def serve(host: str, port: int, workers: int | None, no_worker: bool) -> None:
    """Serve the hub with gunicorn, and run scheduled jobs beside it."""
    from quanzi.cli.server import serve as run_server

    _compile_translations()
    django_setup()
    run_server(host=host, port=port, workers=workers, with_worker=not no_worker)


@cli.command()
@click.option("--once", is_flag=True, help="Run what is due now, then exit.")
@click.option(
    "--tick",
    default=30,
    show_default=True,
    type=click.IntRange(1, 3600),
    help="Seconds between checks.",
)
@click.option("--run", "run_name", default=None, metavar="JOB", help="Run one job now and exit.")
def worker(once: bool, tick: int, run_name: str | None) -> None:
    """Run scheduled jobs (membership expiry, maturation, recall, checks) embedded."""
    django_setup()
    from quanzi.cli.worker import run_forever, run_one

    if run_name:
        ok = run_one(run_name)
        raise SystemExit(0 if ok else 1)
    run_forever(tick=tick, once=once)


@cli.command()
@click.option("--no-serve", is_flag=True, help="Set up and load the demo, then exit.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
def demo(no_serve: bool, host: str, port: int) -> None:
    """Set up the embedded database, load a demo hub, create operator 'demo', and serve it."""
    _compile_translations()
    django_setup()
    from django.conf import settings

    from quanzi.core.services.tokens import operator_create
    from quanzi.demo import demo_load

    click.echo(f"Data folder: {settings.QUANZI_HOME}")
    migrate_with_progress()
    demo_load()
    from django.contrib.auth import get_user_model

    if get_user_model().objects.filter(username="demo").exists():
        click.echo(
            "Operator 'demo' exists; its password was shown when it was created "
            "(new one: quanzi createoperator demo --reset-password)."
        )
    else:
        _, password = operator_create(username="demo", password=secrets.token_urlsafe(9))
        click.echo(click.style(f"Sign in as demo / {password}  (shown once)", bold=True))
    if no_serve:
        return
    click.echo(
        f"Console: http://{_url_host(host)}:{port}/console/   Member pages: /m/   API: /api/v1/docs"
    )
    from quanzi.cli.server import serve as run_server

    run_server(host=host, port=port, workers=None, with_worker=True)


def _compile_translations() -> None:
    from quanzi.i18n import compile_messages

    try:
        compile_messages()
    except OSError as exc:  # a read-only install ships its catalogues compiled
        click.echo(f"quanzi: translations not compiled ({exc.strerror})", err=True)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


@cli.command(
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def manage(args: tuple[str, ...]) -> None:
    """Run a Django management command (check --deploy, makemigrations, shell, ...)."""
    django_setup()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["quanzi manage", *args])
