from __future__ import annotations

import io
import os

from tqdm import tqdm

CLI_LANGUAGE = "en"


def cli_language() -> str:
    """English, unless QUANZI_LANGUAGE names a language Quanzi speaks (zh-hans, zh-CN, ko)."""
    from django.utils import translation

    wanted = os.environ.get("QUANZI_LANGUAGE", "").strip().lower().replace("_", "-")
    if wanted:
        try:
            return translation.get_supported_language_variant(wanted)
        except LookupError:
            pass
    return CLI_LANGUAGE


def activate_cli_language() -> bool:
    """Speak the CLI's language from here on; False while Django is not set up yet (translations
    load with the apps, so ``django_setup`` activates it then)."""
    from django.apps import apps
    from django.utils import translation

    if not apps.ready:
        return False
    translation.activate(cli_language())
    return True


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quanzi.settings")
    import django

    django.setup()
    activate_cli_language()


class _ProgressStream(io.StringIO):
    """Reads ``migrate``'s output and moves the bar one step per applied migration."""

    def __init__(self, bar: tqdm) -> None:  # type: ignore[type-arg]
        super().__init__()
        self.bar = bar

    def write(self, text: str) -> int:
        if text.lstrip().startswith("Applying "):
            self.bar.set_postfix_str(text.strip().removeprefix("Applying ").rstrip(". OK"))
        if text.rstrip().endswith(" OK"):
            self.bar.update(1)
        return super().write(text)


def migrate_with_progress() -> int:
    """Apply pending migrations with a progress bar; returns how many were applied."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if not plan:
        return 0
    with tqdm(total=len(plan), desc="Migrating", unit="step", leave=True) as bar:
        call_command("migrate", interactive=False, verbosity=1, stdout=_ProgressStream(bar))
    return len(plan)


def pending_migrations() -> int:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
