"""The ``quanzi`` command: one entry point, one subcommand per job an operator does."""

from __future__ import annotations

import os
import sys

import click

from quanzi.cli.app import cli
from quanzi.cli.setup import activate_cli_language


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; every refusal is one line on stderr and a non-zero exit, never a traceback.

    It speaks English unless ``QUANZI_LANGUAGE`` names a supported language (zh-hans, ko).
    """
    from django.core.exceptions import ImproperlyConfigured
    from django.db import DatabaseError

    from quanzi.core.errors import ApplicationError

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quanzi.settings")
    # Refusals are printed in English unless QUANZI_LANGUAGE asks otherwise; when Django is not
    # set up yet, each command's django_setup() activates the language once it is.
    activate_cli_language()
    try:
        code = cli.main(args=argv, prog_name="quanzi", standalone_mode=False)
    except click.exceptions.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else "quanzi"
        click.echo(f"quanzi: {exc.format_message()} (see '{where} --help')", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("quanzi: aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        click.echo(f"quanzi: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except ImproperlyConfigured as exc:
        click.echo(f"quanzi: configuration: {exc}", err=True)
        sys.exit(2)
    except ApplicationError as exc:
        click.echo(f"quanzi: {exc.message}", err=True)
        sys.exit(1)
    except DatabaseError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        click.echo(f"quanzi: database: {first}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
