from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembersConfig(AppConfig):
    name = "quanzi.members"
    label = "members"
    verbose_name = _("Members")

    def ready(self) -> None:
        from quanzi.members import jobs  # noqa: F401
