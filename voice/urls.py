from django.urls import path
from rest_framework.routers import SimpleRouter

from voice import api, views

router = SimpleRouter(trailing_slash=True)
router.register("voice-messages", api.VoiceMessageViewSet, basename="voice-message")
router.register("voice-files", api.VoiceFileViewSet, basename="voice-file")

api_urlpatterns = router.urls

public_urlpatterns = [
    path("twiml/<str:token>/", views.twiml_document, name="twiml-document"),
    path("voice-files/<str:token>/", views.voice_file_public, name="voice-file-public"),
]

portal_urlpatterns = [
    path("voice/messages/", views.message_list, name="voice-message-list"),
    path("voice/messages/new/", views.message_edit, name="voice-message-create"),
    path("voice/messages/<int:message_id>/", views.message_edit, name="voice-message-edit"),
    path("voice/preview/", views.message_preview, name="voice-message-preview"),
    path("voice/files/", views.file_list, name="voice-file-list"),
]
