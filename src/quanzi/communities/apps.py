from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommunitiesConfig(AppConfig):
    name = "quanzi.communities"
    label = "communities"
    verbose_name = _("Communities")

    def ready(self) -> None:
        from quanzi.communities import jobs, member_hooks  # noqa: F401
