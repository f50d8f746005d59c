from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DistributionConfig(AppConfig):
    name = "quanzi.distribution"
    label = "distribution"
    verbose_name = _("Distribution")

    def ready(self) -> None:
        from quanzi.distribution import jobs, payment_hooks  # noqa: F401
