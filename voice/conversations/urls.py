from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from voice.conversations import api, console, views, webhooks

results_router = SimpleRouter(trailing_slash=True)
results_router.register("ai-conversations", api.AIConversationViewSet, basename="ai-conversation")

api_urlpatterns: list[URLPattern | URLResolver] = [
    path("calls/<str:reference>/result/", api.CallResultView.as_view(), name="call-result"),
    path("agents/<int:agent_id>/calls/", api.AgentCallView.as_view(), name="agent-calls"),
    path("agents/<int:agent_id>/campaigns/", api.AgentCampaignView.as_view(), name="agent-campaigns"),
    *results_router.urls,
]
portal_urlpatterns: list[URLPattern | URLResolver] = [
    path("ai-conversations/", views.ai_conversation_list, name="ai-conversation-list"),
    path("ai-conversations/console/", console.console_page, name="agent-console"),
    path("ai-conversations/call/", views.ai_call_new, name="ai-call-new"),
    path("ai-conversations/<int:conversation_id>/", views.ai_conversation_detail, name="ai-conversation-detail"),
]
webhook_urlpatterns: list[URLPattern | URLResolver] = [
    path("webhooks/twilio/conversation-relay/", webhooks.relay_action, name="conversation-relay-action"),
    path(
        "webhooks/twilio/conversation-relay/<int:conversation_id>/whisper/",
        webhooks.relay_whisper,
        name="conversation-relay-whisper",
    ),
    path(
        "webhooks/twilio/conversation-relay/<int:conversation_id>/dialed/",
        webhooks.relay_dialed,
        name="conversation-relay-dialed",
    ),
    path(
        "webhooks/twilio/conversation-relay/<int:conversation_id>/recorded/",
        webhooks.relay_recorded,
        name="conversation-relay-recorded",
    ),
]
