from django.urls import path

from quanzi.h5 import views

app_name = "h5"
urlpatterns = [
    path("", views.home, name="home"),
    path("privacy/", views.privacy, name="privacy"),
    path("i/<str:code>/", views.invitation, name="invitation"),
    path("i/<str:code>/joined/", views.joined, name="joined"),
    path("login/<str:token>/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("me/", views.me, name="me"),
]
