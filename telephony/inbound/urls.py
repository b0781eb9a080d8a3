from django.urls import path
from rest_framework.routers import SimpleRouter

from telephony.inbound import api, views, webhooks

# On the tenant hosts and on the public host alike (see webhooks).
webhook_urlpatterns = [
    path("webhooks/twilio/voice/", webhooks.voice_incoming, name="inbound-voice"),
    path("webhooks/twilio/voice/status/", webhooks.call_status, name="inbound-call-status"),
    path("webhooks/twilio/voice/recording/", webhooks.recording_status, name="inbound-recording"),
    path("webhooks/twilio/voice/flows/<int:flow_id>/", webhooks.flow_document, name="inbound-flow"),
    path("webhooks/twilio/voice/flows/<int:flow_id>/chosen/", webhooks.flow_chosen, name="inbound-flow-chosen"),
    path("webhooks/twilio/voice/flows/<int:flow_id>/dialed/", webhooks.flow_dialed, name="inbound-flow-dialed"),
    path("webhooks/twilio/voice/flows/<int:flow_id>/recorded/", webhooks.flow_recorded, name="inbound-flow-recorded"),
    path("webhooks/twilio/sms/", webhooks.sms_incoming, name="inbound-sms"),
]

router = SimpleRouter(trailing_slash=True)
router.register("call-flows", api.CallFlowViewSet, basename="call-flow")
router.register("number-settings", api.NumberSettingsViewSet, basename="number-settings")
router.register("recordings", api.RecordingViewSet, basename="recording")
router.register("conversations", api.ConversationViewSet, basename="conversation")

api_urlpatterns = [path("inbound-settings/", api.InboundSettingsView.as_view(), name="inbound-settings"), *router.urls]

portal_urlpatterns = [
    path("inbound/", views.inbound_overview, name="inbound-overview"),
    path("inbound/settings/", views.inbound_settings_edit, name="inbound-settings-edit"),
    path("inbound/flows/new/", views.call_flow_edit, name="call-flow-new"),
    path("inbound/flows/<int:flow_id>/", views.call_flow_edit, name="call-flow-edit"),
    path("inbound/flows/<int:flow_id>/delete/", views.call_flow_delete, name="call-flow-delete"),
    path("inbound/numbers/<str:phone_number>/", views.number_settings_edit, name="number-settings-edit"),
    path("conversations/", views.conversation_list, name="conversation-list"),
    path("conversations/<str:contact>/", views.conversation_detail, name="conversation-detail"),
    path("recordings/", views.recording_list, name="recording-list"),
    path("recordings/<int:recording_id>/media/", views.recording_media, name="recording-media"),
    path("recordings/<int:recording_id>/delete/", views.recording_delete, name="recording-delete"),
]
