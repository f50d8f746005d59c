from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "quanzi.api"
    label = "api"
    verbose_name = "API"
