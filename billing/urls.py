from django.urls import URLPattern, URLResolver, path

from billing import api, views, webhooks

# On tenant hosts.
api_urlpatterns: list[URLPattern | URLResolver] = [
    path("usage/", api.UsageView.as_view(), name="usage"),
    path("billing/", api.BillingView.as_view(), name="billing"),
]
portal_urlpatterns: list[URLPattern | URLResolver] = [
    path("billing/", views.billing_overview, name="billing-overview"),
    path("billing/plans/<int:plan_id>/checkout/", views.billing_checkout, name="billing-checkout"),
    path("billing/portal/", views.billing_portal, name="billing-portal"),
    path("billing/redirects/<int:redirect_id>/", views.billing_redirect, name="billing-redirect"),
    path("billing/preferences/", views.billing_preferences, name="billing-preferences"),
]
# On the public host: Stripe's webhook (the sandbox's checkout page is served by the Stripe double itself).
public_urlpatterns: list[URLPattern | URLResolver] = [
    path("webhooks/stripe/", webhooks.stripe_webhook, name="stripe-webhook"),
]
