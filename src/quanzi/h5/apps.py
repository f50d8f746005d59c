from django.apps import AppConfig


class H5Config(AppConfig):
    name = "quanzi.h5"
    label = "h5"
    verbose_name = "Member pages"
