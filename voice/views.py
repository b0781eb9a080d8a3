"""Voice pages of the portal, and the two public endpoints Twilio fetches: TwiML documents and voice files."""

from typing import Any

from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from telephony.signatures import is_signed_by_twilio
from tenants.accounts.roles import Role
from tenants.db import current_tenant
from tenants.forms import add_service_errors
from tenants.views import portal_access, portal_redirect
from voice import selectors, services, templating
from voice.forms import VoiceFileUploadForm, VoiceMessageForm
from voice.models import TwimlDocument, VoiceFile, VoiceMessage
from voice.voices import DEFAULT_VOICE, LANGUAGE_PATTERN, SUPPORTED_VOICES

SAMPLE_VALUES = {
    "currency": "42.50",
    "number": "3",
    "digits": "1234",
    "telephone": "+15551234567",
    "date": "2026-12-01",
    "time": "14:30",
}


@csrf_exempt
@require_http_methods(["GET", "POST"])
def twiml_document(request: HttpRequest, token: str) -> HttpResponse:
    if not is_signed_by_twilio(request, current_tenant()):
        return HttpResponseForbidden("Invalid Twilio signature.")
    document = get_object_or_404(TwimlDocument, public_token=token)
    return HttpResponse(document.xml, content_type="application/xml")


@require_http_methods(["GET", "HEAD"])
def voice_file_public(request: HttpRequest, token: str) -> FileResponse:
    voice_file = get_object_or_404(VoiceFile, public_token=token)
    try:
        handle = voice_file.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The file is gone.") from exc
    return FileResponse(handle, content_type=voice_file.content_type)


def sample_variables(template: str) -> dict[str, str]:
    """Plausible values for a live preview: say-as types get realistic samples, text gets [name]."""
    samples: dict[str, str] = {}
    for part in templating.parse(template):
        if isinstance(part, templating.Variable) and part.name not in samples:
            samples[part.name] = SAMPLE_VALUES.get(part.say_as or "", f"[{part.name}]")
    return samples


@portal_access()
def message_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()
    context = {
        "voice_messages": selectors.voice_message_list(search=search or None),
        "search": search,
        # (portal_access let in a signed-in user or an API key's user: is_authenticated holds, and tells mypy so)
        "can_edit": request.user.is_authenticated and request.user.has_role(Role.OPERATOR),
    }
    return render(request, "voice/message_list.html", context)


@portal_access(Role.OPERATOR)
def message_edit(request: HttpRequest, message_id: int | None = None) -> HttpResponse:
    message = get_object_or_404(VoiceMessage.objects.alive(), pk=message_id) if message_id else None
    form = VoiceMessageForm(request.POST or None, instance=message)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            if message is None:
                message = services.voice_message_create(**fields)
            else:
                services.voice_message_update(message=message, **fields)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            flash.success(request, f"Saved “{message.name}”.")
            return portal_redirect(request, "voice-message-list")
    return render(request, "voice/message_form.html", {"form": form, "message": message})


@require_POST
@portal_access(Role.VIEWER)
def message_preview(request: HttpRequest) -> JsonResponse:
    """TwiML for the form as it stands, rendered with sample values (lenient: missing files are dropped)."""
    template = request.POST.get("template_text", "")
    try:
        templating.parse(template)
    except templating.TemplateSyntaxError as exc:
        return JsonResponse({"error": str(exc)}, status=422)
    _, audio_names = templating.placeholders(template)
    voice, language = request.POST.get("voice", ""), request.POST.get("language", "")
    rendered = templating.render(
        template,
        sample_variables(template),
        voice=voice if voice in SUPPORTED_VOICES else DEFAULT_VOICE,
        language=language if LANGUAGE_PATTERN.match(language) else "en-US",
        rate=request.POST.get("rate", "medium"),
        audio_urls=selectors.audio_urls_for(audio_names),
        strict=False,
    )
    return JsonResponse(
        {"twiml": rendered.twiml, "missing_audio": rendered.missing_audio, "variables": rendered.variables}
    )


@portal_access()
def file_list(request: HttpRequest) -> HttpResponse:
    can_upload = request.user.is_authenticated and request.user.has_role(Role.OPERATOR)  # see message_list
    form = VoiceFileUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if not can_upload:
            return render(request, "tenants/forbidden.html", {"role": Role.OPERATOR}, status=403)
        if form.is_valid():
            data: dict[str, Any] = form.cleaned_data
            upload = data.pop("file")
            try:
                services.voice_file_create(
                    upload=upload, filename=upload.name, tags=data.pop("tags").split(","), **data
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                flash.success(request, f"Uploaded “{data['name']}”.")
                return portal_redirect(request, "voice-file-list")
    context = {"voice_files": selectors.voice_file_list(), "form": form, "can_upload": can_upload}
    return render(request, "voice/file_list.html", context)
