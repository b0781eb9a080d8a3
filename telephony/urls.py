from django.urls import path
from rest_framework.routers import SimpleRouter

from telephony import api, webhooks

router = SimpleRouter(trailing_slash=True)
router.register("messages", api.MessageViewSet, basename="message")
router.register("calls", api.CallViewSet, basename="call")
router.register("communications", api.CommunicationLogViewSet, basename="communication")
router.register("campaigns", api.CampaignViewSet, basename="campaign")
router.register("errors", api.PlatformErrorViewSet, basename="platform-error")

api_urlpatterns = [path("twilio-account/", api.TwilioAccountView.as_view(), name="twilio-account"), *router.urls]

webhook_urlpatterns = [
    path("webhooks/twilio/status/<str:token>/", webhooks.status_callback, name="twilio-status-callback"),
]
