from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RewardsConfig(AppConfig):
    name = "quanzi.rewards"
    label = "rewards"
    verbose_name = _("Rewards")

    def ready(self) -> None:
        from quanzi.rewards import jobs, member_hooks, order_hooks, payment_hooks  # noqa: F401
