"""Portal pages for conversations with AI agents: the list with its filters and a chart of calls and ratings per
day, and one conversation with its transcript, analysis and recording."""

from dataclasses import dataclass

from django.contrib import messages as flash
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from telephony.policies import PolicyError
from tenants.accounts.roles import Role
from tenants.db import current_tenant
from tenants.views import portal_access, portal_redirect, portal_user
from voice.conversations import selectors
from voice.conversations.forms import AgentCallForm
from voice.conversations.models import ConversationAnalysis
from voice.conversations.outbound import agent_call_place

# A refused call's field, as the service names it, to the form's field.
FORM_FIELD_OF = {"contact.phone": "phone", "from": "from_number"}

PAGE_SIZE = 50
CHART_DAYS = 14
CHART_HEIGHT = 120
DAY_WIDTH = 40
TOP_RATING = 5


@dataclass(frozen=True)
class ChartDay:
    day: selectors.DayOfCalls
    bar_height: float
    bar_y: float
    rating_y: float | None  # where the day's average rating sits on the chart's 1-5 scale, if it has one
    x: int  # the middle of the day's column


def _chart(days: list[selectors.DayOfCalls]) -> tuple[list[ChartDay], int]:
    busiest = max((day.calls for day in days), default=0)
    scale = CHART_HEIGHT / (busiest or 1)
    chart = []
    for n, day in enumerate(days):
        height = day.calls * scale
        rating_y = None
        if day.average_rating is not None:
            rating_y = CHART_HEIGHT - (day.average_rating - 1) / (TOP_RATING - 1) * CHART_HEIGHT
        chart.append(
            ChartDay(day=day, bar_height=height, bar_y=CHART_HEIGHT - height, rating_y=rating_y, x=n * DAY_WIDTH + 20)
        )
    return chart, busiest


@portal_access()
def ai_conversation_list(request: HttpRequest) -> HttpResponse:
    # A filter that does not validate is shown with its error and left out; the others still apply.
    conversation_filter = selectors.ConversationFilter(request.GET, queryset=selectors.conversation_list())
    page = Paginator(conversation_filter.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    chart, busiest = _chart(selectors.daily_calls(days=CHART_DAYS, until=timezone.localdate()))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "filter_form": conversation_filter.form,
        "query": query.urlencode(),
        "chart": chart,
        "busiest": busiest,
        "chart_height": CHART_HEIGHT,
        "chart_width": CHART_DAYS * DAY_WIDTH,
        "rating_line": " ".join(f"{day.x:.1f},{day.rating_y:.1f}" for day in chart if day.rating_y is not None),
        "can_call": portal_user(request).has_role(Role.OPERATOR),
    }
    return render(request, "conversations/conversation_list.html", context)


@portal_access()
def ai_conversation_detail(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = get_object_or_404(selectors.conversation_list(), pk=conversation_id)
    context = {
        "conversation": conversation,
        "turns": conversation.turns.order_by("index"),
        "events": conversation.events.all(),
        "analysis": ConversationAnalysis.objects.filter(conversation=conversation).first(),
        "recording": selectors.stored_recording_of(conversation),
    }
    return render(request, "conversations/conversation_detail.html", context)


@portal_access(Role.OPERATOR)
def ai_call_new(request: HttpRequest) -> HttpResponse:
    form = AgentCallForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        contact = {"name": data["name"], "phone": data["phone"], "email": data["email"], "variables": data["variables"]}
        try:
            placed = agent_call_place(
                tenant=current_tenant(), agent_id=data["agent"].pk, contact=contact, from_=data["from_number"] or None
            )
        except PolicyError as error:
            form.add_error(FORM_FIELD_OF.get(error.field or ""), error.message)
        else:
            flash.success(request, f"{data['agent'].name} is calling {placed.conversation.customer_number}.")
            return portal_redirect(request, "ai-conversation-detail", conversation_id=placed.conversation.pk)
    return render(request, "conversations/ai_call_new.html", {"form": form}, status=400 if form.errors else 200)
