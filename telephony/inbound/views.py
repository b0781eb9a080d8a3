"""Portal pages for what comes in: the numbers and their call flows, SMS conversations with reply, recordings."""

from django.contrib import messages as flash
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST

from telephony import services as sending
from telephony.inbound import selectors, services
from telephony.inbound.forms import CallFlowForm, InboundSettingsForm, NumberSettingsForm, ReplyForm
from telephony.inbound.models import CallFlow, NumberSettings, Recording
from telephony.policies import PolicyError
from telephony.registry.models import PhoneNumberRoute
from tenants.accounts.roles import Role
from tenants.db import current_tenant
from tenants.views import portal_access, portal_redirect, portal_user


@portal_access()
def inbound_overview(request: HttpRequest) -> HttpResponse:
    """The tenant's numbers with what each does, and its call flows."""
    settings_by_number = {settings.phone_number: settings for settings in selectors.number_settings_list()}
    numbers = PhoneNumberRoute.objects.filter(tenant=current_tenant()).order_by("phone_number")
    context = {
        "numbers": [(route.phone_number, settings_by_number.get(route.phone_number)) for route in numbers],
        "flows": selectors.call_flow_list(),
        "settings": selectors.inbound_settings(),
        "can_manage": portal_user(request).has_role(Role.ADMIN),
    }
    return render(request, "inbound/overview.html", context)


@portal_access(Role.ADMIN)
def call_flow_edit(request: HttpRequest, flow_id: int | None = None) -> HttpResponse:
    flow = get_object_or_404(CallFlow, pk=flow_id) if flow_id else None
    form = CallFlowForm(request.POST or None, instance=flow)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        flash.success(request, f"Call flow “{saved.name}” saved.")
        return portal_redirect(request, "inbound-overview")
    return render(
        request, "inbound/call_flow_form.html", {"form": form, "flow": flow}, status=400 if form.errors else 200
    )


@require_POST
@portal_access(Role.ADMIN)
def call_flow_delete(request: HttpRequest, flow_id: int) -> HttpResponse:
    flow = get_object_or_404(CallFlow, pk=flow_id)
    flow.delete()
    flash.success(request, f"Call flow “{flow.name}” deleted; numbers that used it say they take no calls.")
    return portal_redirect(request, "inbound-overview")


@portal_access(Role.ADMIN)
def number_settings_edit(request: HttpRequest, phone_number: str) -> HttpResponse:
    if not PhoneNumberRoute.objects.filter(tenant=current_tenant(), phone_number=phone_number).exists():
        raise Http404("not one of this account's numbers")
    current = NumberSettings.objects.filter(phone_number=phone_number).first()
    form = NumberSettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in NumberSettingsForm.Meta.fields}
        services.number_settings_save(tenant=current_tenant(), phone_number=phone_number, **fields)
        flash.success(request, f"{phone_number} saved.")
        return portal_redirect(request, "inbound-overview")
    context = {"form": form, "phone_number": phone_number}
    return render(request, "inbound/number_settings_form.html", context, status=400 if form.errors else 200)


@portal_access(Role.ADMIN)
def inbound_settings_edit(request: HttpRequest) -> HttpResponse:
    form = InboundSettingsForm(request.POST or None, instance=selectors.inbound_settings())
    if request.method == "POST" and form.is_valid():
        form.save()
        flash.success(request, "Settings saved.")
        return portal_redirect(request, "inbound-overview")
    return render(request, "inbound/settings_form.html", {"form": form}, status=400 if form.errors else 200)


@portal_access()
def conversation_list(request: HttpRequest) -> HttpResponse:
    return render(request, "inbound/conversation_list.html", {"conversations": selectors.conversation_list()})


@portal_access()
def conversation_detail(request: HttpRequest, contact: str) -> HttpResponse:
    form = ReplyForm(request.POST or None)
    if request.method == "POST":
        if not portal_user(request).has_role(Role.OPERATOR):
            return render(request, "tenants/forbidden.html", {"role": Role.OPERATOR}, status=403)
        if form.is_valid():
            try:
                sending.sms_send(tenant=current_tenant(), to=contact, body=form.cleaned_data["body"])
            except PolicyError as refused:
                flash.error(request, refused.message)
            else:
                flash.success(request, "Reply queued.")
                return portal_redirect(request, "conversation-detail", contact=contact)
    context = {"contact": contact, "thread": selectors.conversation_messages(contact), "form": form}
    return render(request, "inbound/conversation_detail.html", context)


@portal_access()
def recording_list(request: HttpRequest) -> HttpResponse:
    return render(request, "inbound/recording_list.html", {"recordings": selectors.recording_list()[:200]})


@portal_access()
def recording_media(request: HttpRequest, recording_id: int) -> HttpResponseBase:
    recording = get_object_or_404(selectors.recording_list(), pk=recording_id, status=Recording.Status.STORED)
    return FileResponse(recording.file.open("rb"), content_type="audio/wav")


@require_POST
@portal_access(Role.ADMIN)
def recording_delete(request: HttpRequest, recording_id: int) -> HttpResponse:
    recording = get_object_or_404(selectors.recording_list(), pk=recording_id)
    services.recording_delete_request(recording=recording)
    flash.success(request, f"Recording {recording.recording_sid} is being deleted here and at Twilio.")
    return portal_redirect(request, "recording-list")
