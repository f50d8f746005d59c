from django.urls import path

from quanzi.console import views

app_name = "console"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("activity/", views.activity, name="activity"),
    path("jobs/", views.jobs, name="jobs"),
    path("jobs/<str:name>/run/", views.job_run_now, name="job_run"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
]
