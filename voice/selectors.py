from collections.abc import Iterable

from django.db.models import Q, QuerySet
from django.urls import reverse

from tenants.db import current_tenant
from tenants.hosts import tenant_base_url
from voice.models import TwimlDocument, VoiceFile, VoiceMessage


def voice_message_list(
    *, message_type: str | None = None, is_active: bool | None = None, search: str | None = None, deleted: bool = False
) -> QuerySet[VoiceMessage]:
    messages = VoiceMessage.objects.deleted() if deleted else VoiceMessage.objects.alive()
    if message_type:
        messages = messages.filter(message_type=message_type)
    if is_active is not None:
        messages = messages.filter(is_active=is_active)
    if search:
        messages = messages.filter(Q(name__icontains=search) | Q(template_text__icontains=search))
    return messages.order_by("name", "id")


def voice_message_sendable_list() -> QuerySet[VoiceMessage]:
    """What a send or a campaign may use, in the API and the portal alike: not deleted, and active."""
    return voice_message_list(is_active=True)


def voice_file_list(
    *, kind: str | None = None, tag: str | None = None, search: str | None = None
) -> QuerySet[VoiceFile]:
    files = VoiceFile.objects.all()
    if kind:
        files = files.filter(kind=kind)
    if tag:
        files = files.filter(tags__contains=[tag])
    if search:
        files = files.filter(Q(name__icontains=search) | Q(description__icontains=search))
    return files.order_by("name", "id")


def tenant_public_base_url() -> str:
    return tenant_base_url(current_tenant())


def voice_file_public_url(voice_file: VoiceFile, *, base_url: str | None = None) -> str:
    path = reverse("voice-file-public", kwargs={"token": voice_file.public_token})
    return (base_url or tenant_public_base_url()) + path


def twiml_document_url(document: TwimlDocument, *, base_url: str | None = None) -> str:
    """Where Twilio fetches the document: on the tenant's host, also when a worker (public URLconf) asks."""
    path = reverse("twiml-document", urlconf="config.urls_tenants", kwargs={"token": document.public_token})
    return (base_url or tenant_public_base_url()) + path


def audio_urls_for(names: Iterable[str]) -> dict[str, str]:
    """Public URLs of the active tenant's audio files with these names (TwiML documents cannot be played)."""
    names = list(names)
    if not names:
        return {}
    base_url = tenant_public_base_url()
    files = VoiceFile.objects.filter(name__in=names).exclude(kind=VoiceFile.Kind.TWIML)
    return {voice_file.name: voice_file_public_url(voice_file, base_url=base_url) for voice_file in files}
