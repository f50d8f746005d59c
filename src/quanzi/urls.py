from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from quanzi.api.v1 import api

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="console:home", permanent=False)),
    path("api/v1/", api.urls),
    path("console/", include("quanzi.console.urls")),
    path("m/", include("quanzi.h5.urls")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
]
