from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "quanzi.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        # Register this app's scheduled jobs with the registry.
        from quanzi.core import jobs  # noqa: F401
