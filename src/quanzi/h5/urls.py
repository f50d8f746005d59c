from django.urls import path

from quanzi.h5 import views, views_share, views_shop

app_name = "h5"
urlpatterns = [
    path("", views.home, name="home"),
    path("privacy/", views.privacy, name="privacy"),
    path("i/<str:code>/", views.invitation, name="invitation"),
    path("i/<str:code>/joined/", views.joined, name="joined"),
    # Signing in also turns the links this phone opened before into the member's visits.
    path("login/<str:token>/", views_share.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("me/", views.me, name="me"),
    # The shop: browsing, group-buys, checkout and paying.
    path("c/<slug:slug>/shop/", views_shop.shop, name="shop"),
    path("p/<int:pk>/", views_shop.product, name="product"),
    path("d/<int:pk>/", views_shop.drop, name="drop"),
    path("d/<int:pk>/live/", views_shop.drop_stock, name="drop_live"),
    path("checkout/", views_shop.checkout, name="checkout"),
    path("checkout/quote/", views_shop.checkout_quote, name="checkout_quote"),
    path("o/<str:number>/pay/", views_shop.pay, name="pay"),
    path("o/<str:number>/pay/status/", views_shop.pay_status, name="pay_status"),
    # My orders: receipt, cancellation, refund requests and their evidence.
    path("orders/", views_shop.my_orders, name="orders"),
    path("o/<str:number>/", views_shop.order_detail, name="order"),
    path("o/<str:number>/cancel/", views_shop.order_cancel_view, name="order_cancel"),
    path("o/<str:number>/receive/", views_shop.order_receive, name="order_receive"),
    path("o/<str:number>/refund/", views_shop.refund_request, name="refund"),
    path(
        "o/<str:number>/cases/<int:case_id>/evidence/",
        views_shop.case_evidence,
        name="case_evidence",
    ),
    path("o/<str:number>/cases/<int:case_id>/return/", views_shop.case_return, name="case_return"),
    path(
        "o/<str:number>/cases/<int:case_id>/withdraw/",
        views_shop.case_withdraw,
        name="case_withdraw",
    ),
    # Sharing: a sharer's link, its poster, my links, my earnings, crystals.
    path("r/<str:code>/", views_share.referral, name="referral"),
    path("r/<str:code>/poster.png", views_share.referral_poster, name="referral_poster"),
    path("crystals/", views_share.circles, name="circles"),
    path("c/<slug:slug>/share/", views_share.share, name="share"),
    path("c/<slug:slug>/earnings/", views_share.earnings, name="earnings"),
    path("c/<slug:slug>/crystals/", views_share.crystals, name="crystals"),
    path(
        "c/<slug:slug>/crystals/redeem/<int:pk>/",
        views_share.crystals_redeem,
        name="crystals_redeem",
    ),
]
