from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    """Live AI conversations on calls: turns, events, results and their analysis."""

    name = "voice.conversations"
    label = "conversations"
    verbose_name = "AI conversations"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from telephony.models import Communication
        from voice.conversations.results import call_status_saved

        post_save.connect(call_status_saved, sender=Communication, dispatch_uid="conversations-call-status")
