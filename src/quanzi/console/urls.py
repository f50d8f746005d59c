from django.urls import path

from quanzi.console import (
    views,
    views_analytics,
    views_catalog,
    views_communities,
    views_distribution,
    views_members,
    views_orders,
    views_outbox,
    views_rewards,
)

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
    # Catalog
    path("catalog/", views_catalog.catalog_home, name="catalog_home"),
    path("catalog/<slug:slug>/", views_catalog.product_list, name="catalog"),
    path("catalog/<slug:slug>/products/new/", views_catalog.product_new, name="product_new"),
    path("catalog/<slug:slug>/products/<int:pk>/", views_catalog.product_detail, name="product"),
    path("catalog/<slug:slug>/products/<int:pk>/skus/", views_catalog.sku_add, name="sku_add"),
    path("catalog/<slug:slug>/skus/<int:pk>/stock/", views_catalog.sku_stock, name="sku_stock"),
    path(
        "catalog/<slug:slug>/shipping-templates/",
        views_catalog.shipping_templates,
        name="shipping_templates",
    ),
    path("catalog/<slug:slug>/drops/", views_catalog.drops, name="drops"),
    # Orders
    path("orders/", views_orders.orders_home, name="orders_home"),
    path("orders/<slug:slug>/", views_orders.order_list, name="orders"),
    path("orders/<slug:slug>/<str:number>/", views_orders.order_detail, name="order"),
    path("orders/<slug:slug>/<str:number>/reveal/", views_orders.order_reveal, name="order_reveal"),
    path(
        "orders/<slug:slug>/<str:number>/cancel/",
        views_orders.order_cancel_view,
        name="order_cancel",
    ),
    path(
        "orders/<slug:slug>/<str:number>/confirm-transfer/",
        views_orders.order_confirm,
        name="order_confirm",
    ),
    path("orders/<slug:slug>/<str:number>/ship/", views_orders.order_ship_view, name="order_ship"),
    path(
        "orders/<slug:slug>/<str:number>/delivered/",
        views_orders.order_delivered,
        name="order_delivered",
    ),
    path("orders/<slug:slug>/<str:number>/refund/", views_orders.order_refund, name="order_refund"),
    # Shipping
    path("shipping/", views_orders.shipping_home, name="shipping_home"),
    path("shipping/<slug:slug>/", views_orders.shipping, name="shipping"),
    path("shipping/<slug:slug>/export/", views_orders.shipping_export, name="shipping_export"),
    path(
        "shipping/<slug:slug>/<str:number>/ship/",
        views_orders.shipping_ship,
        name="shipping_ship",
    ),
    # After-sales
    path("after-sales/", views_orders.after_sales_home, name="after_sales_home"),
    path("after-sales/evidence/<int:pk>/", views_orders.evidence_file, name="evidence_file"),
    path("after-sales/<slug:slug>/", views_orders.after_sales, name="after_sales"),
    path(
        "after-sales/<slug:slug>/<int:pk>/approve/",
        views_orders.after_sale_approve_view,
        name="after_sale_approve",
    ),
    path(
        "after-sales/<slug:slug>/<int:pk>/returned/",
        views_orders.after_sale_returned_view,
        name="after_sale_returned",
    ),
    path(
        "after-sales/<slug:slug>/<int:pk>/reject/",
        views_orders.after_sale_reject_view,
        name="after_sale_reject",
    ),
    # Distribution
    path("distribution/", views_distribution.distribution_home, name="distribution_home"),
    path(
        "distribution/<slug:slug>/",
        views_distribution.distribution_overview,
        name="distribution",
    ),
    path(
        "distribution/<slug:slug>/applications/",
        views_distribution.distribution_applications,
        name="distribution_applications",
    ),
    path(
        "distribution/<slug:slug>/distributors/<int:pk>/<str:action>/",
        views_distribution.distributor_decide,
        name="distributor_decide",
    ),
    path(
        "distribution/<slug:slug>/rules/",
        views_distribution.distribution_rules,
        name="distribution_rules",
    ),
    path(
        "distribution/<slug:slug>/rules/<int:pk>/deactivate/",
        views_distribution.commission_rule_deactivate_view,
        name="commission_rule_deactivate",
    ),
    path(
        "distribution/<slug:slug>/settings/",
        views_distribution.distribution_settings_view,
        name="distribution_settings",
    ),
    path(
        "distribution/<slug:slug>/commissions/",
        views_distribution.distribution_commissions,
        name="distribution_commissions",
    ),
    path(
        "distribution/<slug:slug>/payouts/",
        views_distribution.distribution_payouts,
        name="distribution_payouts",
    ),
    path(
        "distribution/<slug:slug>/payouts/new/",
        views_distribution.payout_new,
        name="distribution_payout_new",
    ),
    path(
        "distribution/<slug:slug>/payouts/<str:number>/",
        views_distribution.payout_detail,
        name="distribution_payout",
    ),
    path(
        "distribution/<slug:slug>/payouts/<str:number>/export/",
        views_distribution.payout_export,
        name="distribution_payout_export",
    ),
    path(
        "distribution/<slug:slug>/payouts/<str:number>/paid/",
        views_distribution.payout_paid,
        name="distribution_payout_paid",
    ),
    path(
        "distribution/<slug:slug>/payouts/<str:number>/cancel/",
        views_distribution.payout_cancel,
        name="distribution_payout_cancel",
    ),
    # Crystals
    path("crystals/", views_rewards.crystals_home, name="crystals_home"),
    path("crystals/<slug:slug>/", views_rewards.crystals_overview, name="crystals"),
    path("crystals/<slug:slug>/rules/", views_rewards.crystals_rules, name="crystals_rules"),
    path(
        "crystals/<slug:slug>/rules/<str:action>/",
        views_rewards.crystal_rule_save,
        name="crystal_rule_save",
    ),
    path("crystals/<slug:slug>/rewards/", views_rewards.crystal_rewards, name="crystal_rewards"),
    path(
        "crystals/<slug:slug>/rewards/<int:pk>/",
        views_rewards.crystal_reward_edit,
        name="crystal_reward_edit",
    ),
    path(
        "crystals/<slug:slug>/redemptions/",
        views_rewards.crystal_redemptions,
        name="crystal_redemptions",
    ),
    path(
        "crystals/<slug:slug>/redemptions/<int:pk>/fulfil/",
        views_rewards.redemption_fulfil_view,
        name="redemption_fulfil",
    ),
    path(
        "crystals/<slug:slug>/redemptions/<int:pk>/cancel/",
        views_rewards.redemption_cancel_view,
        name="redemption_cancel",
    ),
    path("crystals/<slug:slug>/levels/", views_rewards.crystal_levels, name="crystal_levels"),
    path(
        "crystals/<slug:slug>/contributors/",
        views_rewards.crystal_contributors,
        name="crystal_contributors",
    ),
    path("crystals/<slug:slug>/award/", views_rewards.crystal_award, name="crystal_award"),
    path(
        "crystals/<slug:slug>/cash-reward/",
        views_rewards.crystal_cash_reward,
        name="crystal_cash_reward",
    ),
    path("crystals/<slug:slug>/perk/", views_rewards.crystal_perk, name="crystal_perk"),
    path("analytics/", views_analytics.analytics_home, name="analytics_home"),
    path("analytics/<slug:slug>/", views_analytics.analytics_community, name="analytics"),
    path(
        "analytics/<slug:slug>/groups/<int:group_id>/",
        views_analytics.analytics_group,
        name="analytics_group",
    ),
]
