from django.urls import path

from quanzi.console import views, views_communities, views_members, views_outbox

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
    path("outbox/", views_outbox.outbox, name="outbox"),
    path("outbox/<int:pk>/sent/", views_outbox.outbox_sent, name="outbox_sent"),
    # Members
    path("members/", views_members.member_list, name="members"),
    path("members/<int:pk>/", views_members.member_detail, name="member"),
    path("members/<int:pk>/reveal/", views_members.member_reveal, name="member_reveal"),
    path("members/<int:pk>/tags/", views_members.member_tags, name="member_tags"),
    path("members/<int:pk>/marketing/", views_members.member_marketing, name="member_marketing"),
    path("members/<int:pk>/merge/", views_members.member_merge_into, name="member_merge"),
    path("members/<int:pk>/export/", views_members.member_export, name="member_export"),
    path(
        "members/<int:pk>/anonymise/",
        views_members.member_delete_personal_data,
        name="member_anonymise",
    ),
    # Communities
    path("communities/", views_communities.community_list, name="communities"),
    path("communities/<slug:slug>/", views_communities.community_groups, name="community"),
    path("communities/<slug:slug>/groups/<int:pk>/", views_communities.group_detail, name="group"),
    path(
        "communities/<slug:slug>/groups/<int:pk>/kol/<int:seat>/release/",
        views_communities.kol_seat_remove,
        name="kol_release",
    ),
    path(
        "communities/<slug:slug>/plans/", views_communities.community_plans, name="community_plans"
    ),
    path(
        "communities/<slug:slug>/memberships/",
        views_communities.community_memberships,
        name="community_memberships",
    ),
    path(
        "communities/<slug:slug>/memberships/<int:pk>/pay/",
        views_communities.membership_payment,
        name="membership_pay",
    ),
    path(
        "communities/<slug:slug>/memberships/<int:pk>/cancel/",
        views_communities.membership_withdraw,
        name="membership_cancel",
    ),
    path(
        "communities/<slug:slug>/invitations/",
        views_communities.community_invitations,
        name="community_invitations",
    ),
    path(
        "communities/<slug:slug>/invitations/<int:pk>/revoke/",
        views_communities.invitation_withdraw,
        name="invitation_revoke",
    ),
]
