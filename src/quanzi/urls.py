from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from quanzi.api.v1 import api
from quanzi.payments.views import wechatpay_notify

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="console:home", permanent=False)),
    path("api/v1/", api.urls),
    path("payments/wechatpay/notify/", wechatpay_notify, name="wechatpay-notify"),
    path("console/", include("quanzi.console.urls")),
    path("m/", include("quanzi.h5.urls")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
]
