from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from telephony.numbers import api, views

router = SimpleRouter(trailing_slash=True)
router.register("numbers", api.PhoneNumberViewSet, basename="phone-number")

api_urlpatterns: list[URLPattern | URLResolver] = [*router.urls]
portal_urlpatterns: list[URLPattern | URLResolver] = [
    path("numbers/", views.number_list, name="number-list"),
    path("numbers/buy/", views.number_buy, name="number-buy"),
    path("numbers/<int:number_id>/", views.number_edit, name="number-edit"),
    path("numbers/<int:number_id>/release/", views.number_release, name="number-release"),
]
webhook_urlpatterns: list[URLPattern | URLResolver] = []
