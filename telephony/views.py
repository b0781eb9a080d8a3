"""Telephony pages of the portal: the communication log with its chart, campaigns with their progress, senders
(admins register, check again and remove them), the opt-out list."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import TypeVar

from django.contrib import messages as flash
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from telephony import campaigns, records, selectors, services
from telephony.filters import CommunicationFilter
from telephony.forms import CampaignForm, OptOutForm, SenderNumberForm, SendForm
from telephony.models import Campaign, Communication, OptOut, SenderNumber
from telephony.policies import PolicyError
from telephony.statuses import STAGES, TERMINAL, Status
from tenants.accounts.roles import Role
from tenants.db import current_tenant
from tenants.views import form_errors_text, portal_access, portal_redirect, portal_user
from voice.templating import MissingValuesError

T = TypeVar("T")

LOG_PAGE_SIZE = 50
CHART_DAYS = 14
CHART_HEIGHT = 120
CAMPAIGNS_LISTED = 50
# How long a communication's page keeps refreshing itself after its last change.
FOLLOW_FOR = timedelta(minutes=10)
# Bottom to top in the chart's bars, and left to right in progress bars.
STAGE_ORDER = ["delivered", "sent", "queued", "failed", "canceled"]


@dataclass(frozen=True)
class Segment:
    stage: str
    count: int
    size: float  # px in a chart's bar, % in a progress bar
    offset: float


def _segments(stages: dict[str, int], scale: float) -> list[Segment]:
    segments, offset = [], 0.0
    for stage in STAGE_ORDER:
        if stages.get(stage):
            size = stages[stage] * scale
            segments.append(Segment(stage=stage, count=stages[stage], size=size, offset=offset))
            offset += size
    return segments


@portal_access()
def communication_log(request: HttpRequest) -> HttpResponse:
    # A filter that does not validate is shown with its error and left out; the others still apply.
    log_filter = CommunicationFilter(request.GET, queryset=selectors.communication_list())
    page = Paginator(log_filter.qs, LOG_PAGE_SIZE).get_page(request.GET.get("page"))

    days = selectors.daily_activity(days=CHART_DAYS, until=timezone.localdate())
    busiest = max((day.total for day in days), default=0) or 1
    bars = [
        (day, [(s, CHART_HEIGHT - s.offset - s.size) for s in _segments(day.stages, CHART_HEIGHT / busiest)])
        for day in days
    ]
    context = {
        "page": page,
        "filter_form": log_filter.form,
        "can_send": portal_user(request).has_role(Role.OPERATOR),
        "query": _query_without_page(request),
        "bars": bars,
        "chart_height": CHART_HEIGHT,
        "busiest": busiest if any(day.total for day in days) else 0,
        "period_costs": _summed(day.costs for day in days),
        "stages": STAGE_ORDER,
    }
    return render(request, "telephony/communication_log.html", context)


def _summed(costs: Iterable[dict[str, Decimal]]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for day in costs:
        for currency, amount in day.items():
            totals[currency] = totals.get(currency, Decimal(0)) + amount
    return totals


# A refused send's field, as the API names it, to the compose form's field.
FORM_FIELD_OF = {"to": "to", "from": "from_number", "body": "body", "text": "body"}


@portal_access(Role.OPERATOR)
def communication_new(request: HttpRequest) -> HttpResponse:
    form = SendForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        common = {
            "tenant": current_tenant(),
            "to": data["to"],
            "from_": data["from_number"] or None,
            "voice_message": data["voice_message"],
            "variables": data["variables"],
            "send_at": data["send_at"],
        }
        try:
            if data["channel"] == Communication.Channel.SMS:
                communication = services.sms_send(body=data["body"] or None, **common)
            else:
                communication = services.call_place(text=data["body"] or None, **common)
        except PolicyError as error:
            form.add_error(FORM_FIELD_OF.get(error.field or ""), error.message)
        except MissingValuesError as error:
            form.add_error("variables", str(error))
        else:
            flash.success(request, f"{communication.get_channel_display()} to {communication.to_number} accepted.")
            return portal_redirect(request, "communication-detail", communication_id=communication.pk)
    return render(request, "telephony/communication_new.html", {"form": form}, status=400 if form.errors else 200)


@portal_access()
def communication_detail(request: HttpRequest, communication_id: int) -> HttpResponse:
    communication = get_object_or_404(selectors.communication_detail_list(), pk=communication_id)
    is_admin = portal_user(request).has_role(Role.ADMIN)
    # While it is on its way the page refreshes itself, so each status shows as Twilio reports it; not for
    # something scheduled days ahead, nor for a message whose delivery receipt never came.
    on_its_way = communication.status not in TERMINAL and communication.status != Status.SCHEDULED
    recently_changed = timezone.now() - communication.updated_at < FOLLOW_FOR
    context = {
        "item": communication,
        "errors": communication.platformerror_set.all() if is_admin else [],
        "can_cancel": portal_user(request).has_role(Role.OPERATOR) and communication.is_cancelable,
        "refresh_seconds": 5 if on_its_way and recently_changed else None,
    }
    return render(request, "telephony/communication_detail.html", context)


@require_POST
@portal_access(Role.OPERATOR)
def communication_cancel(request: HttpRequest, communication_id: int) -> HttpResponse:
    communication = get_object_or_404(Communication, pk=communication_id)
    _flash_outcome(
        request,
        lambda: services.communication_cancel(communication=communication),
        lambda after: "Canceled." if after.status == Status.CANCELED else "The call is being hung up.",
    )
    return portal_redirect(request, "communication-detail", communication_id=communication_id)


@portal_access(Role.ADMIN)
def platform_error_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.platform_error_list(), LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "telephony/platform_error_list.html", {"page": page, "query": _query_without_page(request)})


def _progress_segments(progress: dict[str, int]) -> list[Segment]:
    return _segments(progress, 100 / (sum(progress[stage] for stage in STAGES) or 1))


def _progress_by_sender(campaign: Campaign) -> list[dict]:
    return [
        {
            "sender": sender,
            "counts": [progress[stage] for stage in STAGE_ORDER],
            "total": progress["total"],
            "segments": _progress_segments(progress),
        }
        for sender, progress in campaigns.campaign_progress_by_sender(campaign=campaign).items()
    ]


def _with_progress(campaign: Campaign) -> dict:
    progress = campaigns.campaign_progress(campaign=campaign)
    return {
        "campaign": campaign,
        "status": campaigns.campaign_shown_status(campaign=campaign, progress=progress),
        "progress": progress,
        "segments": _progress_segments(progress),
    }


@portal_access()
def campaign_list(request: HttpRequest) -> HttpResponse:
    rows = [_with_progress(campaign) for campaign in selectors.campaign_list()[:CAMPAIGNS_LISTED]]
    context = {"rows": rows, "stages": STAGE_ORDER, "can_create": portal_user(request).has_role(Role.OPERATOR)}
    return render(request, "telephony/campaign_list.html", context)


# A refused campaign's field, as the API names it, to the campaign form's field.
CAMPAIGN_FIELD_OF = {
    "recipients": "file",
    "file": "file",
    "from": "senders",
    "senders": "senders",
    "body": "body",
    "text": "body",
}


@portal_access(Role.OPERATOR)
def campaign_new(request: HttpRequest) -> HttpResponse:
    form = CampaignForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            campaign = campaigns.campaign_create(
                tenant=current_tenant(),
                name=data["name"],
                channel=data["channel"],
                recipients=campaigns.recipients_from_upload(data["file"]),
                body=data["body"],
                voice_message=data["voice_message"],
                senders=data["senders"] or None,
                send_at=data["send_at"],
            )
        except PolicyError as error:
            form.add_error(CAMPAIGN_FIELD_OF.get(error.field or ""), error.message)
        else:
            invalid = len(campaign.invalid_rows)
            flash.success(
                request,
                f"“{campaign.name}” accepted"
                + (f"; {invalid} rows were not valid (listed below)." if invalid else "."),
            )
            return portal_redirect(request, "campaign-detail", campaign_id=campaign.pk)
    return render(request, "telephony/campaign_new.html", {"form": form}, status=400 if form.errors else 200)


@portal_access()
def campaign_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    row = _with_progress(get_object_or_404(selectors.campaign_list(), pk=campaign_id))
    context = {
        **row,
        "stages": STAGE_ORDER,
        "stage_counts": [(stage, row["progress"][stage]) for stage in STAGE_ORDER],
        "by_sender": _progress_by_sender(row["campaign"]) if len(row["campaign"].senders) > 1 else [],
        "can_control": portal_user(request).has_role(Role.OPERATOR),
        # While it runs, the page refreshes itself so progress moves without a click.
        "refresh_seconds": 5 if row["status"] in (Campaign.Status.RUNNING, Campaign.Status.SCHEDULED) else None,
    }
    return render(request, "telephony/campaign_detail.html", context)


CAMPAIGN_ACTIONS: dict[str, Callable[..., Campaign]] = {
    "pause": campaigns.campaign_pause,
    "resume": campaigns.campaign_resume,
    "cancel": campaigns.campaign_cancel,
}


@require_POST
@portal_access(Role.OPERATOR)
def campaign_action(request: HttpRequest, campaign_id: int, action: str) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    _flash_outcome(
        request, lambda: CAMPAIGN_ACTIONS[action](campaign=campaign), lambda _: f"“{campaign.name}”: {action} done."
    )
    return portal_redirect(request, "campaign-detail", campaign_id=campaign_id)


@portal_access()
def sender_list(request: HttpRequest) -> HttpResponse:
    senders = list(selectors.sender_number_list())
    context = {
        "senders": senders,
        "can_manage": portal_user(request).has_role(Role.ADMIN),
        # While Twilio is being asked, the page refreshes itself so the answer shows without a click.
        "refresh_seconds": 5 if any(sender.status == SenderNumber.Status.PENDING for sender in senders) else None,
    }
    return render(request, "telephony/sender_list.html", context)


@portal_access(Role.ADMIN)
def sender_register(request: HttpRequest) -> HttpResponse:
    form = SenderNumberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        sender = services.sender_number_register(**form.cleaned_data)
        flash.success(request, f"{sender.phone_number} registered; Twilio is being asked whether this account has it.")
        return portal_redirect(request, "sender-list")
    return render(request, "telephony/sender_register.html", {"form": form}, status=400 if form.errors else 200)


@require_POST
@portal_access(Role.ADMIN)
def sender_check_again(request: HttpRequest, sender_id: int) -> HttpResponse:
    sender = get_object_or_404(SenderNumber, pk=sender_id)
    _flash_outcome(
        request,
        lambda: services.sender_number_check_again(sender=sender),
        lambda _: f"{sender.phone_number} is being checked with Twilio again.",
    )
    return portal_redirect(request, "sender-list")


@require_POST
@portal_access(Role.ADMIN)
def sender_remove(request: HttpRequest, sender_id: int) -> HttpResponse:
    sender = get_object_or_404(SenderNumber, pk=sender_id)
    services.sender_number_remove(sender=sender)
    flash.success(request, f"{sender.phone_number} is no longer a sender.")
    return portal_redirect(request, "sender-list")


@portal_access()
def opt_out_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.opt_out_list(), LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "query": _query_without_page(request),
        "can_manage": portal_user(request).has_role(Role.OPERATOR),
        "form": OptOutForm(),
        "manual": OptOut.Source.MANUAL,
    }
    return render(request, "telephony/opt_out_list.html", context)


@require_POST
@portal_access(Role.OPERATOR)
def opt_out_add(request: HttpRequest) -> HttpResponse:
    form = OptOutForm(request.POST)
    if form.is_valid():
        opt_out = records.opt_out_add(phone_number=form.cleaned_data["phone_number"], source=OptOut.Source.MANUAL)
        flash.success(request, f"{opt_out.phone_number} gets no more SMS from this account.")
    else:
        flash.error(request, "Not added: " + form_errors_text(form))
    return portal_redirect(request, "opt-out-list")


@require_POST
@portal_access(Role.OPERATOR)
def opt_out_remove(request: HttpRequest, opt_out_id: int) -> HttpResponse:
    opt_out = get_object_or_404(OptOut, pk=opt_out_id)
    _flash_outcome(
        request,
        lambda: records.opt_out_remove(opt_out=opt_out),
        lambda _: f"{opt_out.phone_number} can be sent SMS again.",
    )
    return portal_redirect(request, "opt-out-list")


def _flash_outcome(request: HttpRequest, action: Callable[[], T], success: Callable[[T], str]) -> None:
    """Runs a page's action: a policy's refusal is shown as an error, success as what `success` says of the result."""
    try:
        result = action()
    except PolicyError as error:
        flash.error(request, error.message)
    else:
        flash.success(request, success(result))


def _query_without_page(request: HttpRequest) -> str:
    """The page's query string (filters, an iframe client's apiKey) for its paging links to carry on."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()
