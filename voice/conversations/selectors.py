"""Reads of finished (and live) AI conversations: the CallResult of one, the filtered list, the daily chart."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import django_filters
from django.db.models import Avg, Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone

from telephony.inbound.models import Recording
from tenants.db import current_tenant
from tenants.hosts import tenant_base_url
from voice.agents.config import AgentConfig, platform_default_config
from voice.agents.lookup import agent_config_of_version
from voice.agents.models import Agent, AgentVersion
from voice.conversations.models import Conversation, ConversationAnalysis, Turn


@dataclass(frozen=True)
class RecordingLink:
    url: str
    duration: int | None


@dataclass(frozen=True)
class CallResult:
    """One conversation as integrators get it (GET /api/v1/calls/{id}/result/ and the end-of-call webhook)."""

    tenant_id: str
    conversation: Conversation
    transcript: list[Turn]
    analysis: ConversationAnalysis | None
    recording: RecordingLink | None

    @property
    def duration(self) -> int | None:
        ended = self.conversation.ended_at
        return None if ended is None else max(0, round((ended - self.conversation.started_at).total_seconds()))


def agent_config_of(conversation: Conversation) -> AgentConfig:
    """The configuration the call ran with: its agent's version, or the platform default (also when the agent
    has been deleted since: the call is still analysed and reported, with the default's settings)."""
    if conversation.agent_id is None:
        return platform_default_config()
    try:
        return agent_config_of_version(agent_id=conversation.agent_id, version=conversation.agent_version)
    except AgentVersion.DoesNotExist:
        return platform_default_config()


def conversation_list() -> QuerySet[Conversation]:
    return Conversation.objects.select_related("analysis")


def conversation_by_reference(reference: str) -> Conversation | None:
    """The conversation a result URL names: its id, or its call's SID (CA...)."""
    conversations = conversation_list()
    if reference.isdigit():
        return conversations.filter(pk=int(reference)).first()
    return conversations.filter(call_sid=reference).exclude(call_sid="").first() if reference else None


def stored_recording_of(conversation: Conversation) -> Recording | None:
    """The call's recording as kept here (telephony.inbound.recordings), once its worker has fetched it: the call's
    own, never a voicemail left after a transfer nobody answered."""
    recordings = Recording.objects.filter(status=Recording.Status.STORED)
    if conversation.recording_sid:
        return recordings.filter(recording_sid=conversation.recording_sid).first()
    if conversation.call_sid:
        return recordings.filter(call_sid=conversation.call_sid, source=Recording.Source.CALL).order_by("pk").first()
    return None


def recording_of(conversation: Conversation) -> RecordingLink | None:
    """Where integrators get the call's recording: the copy kept here, served by the API, when there is one;
    otherwise where Twilio has it, as the conversation was told."""
    stored = stored_recording_of(conversation)
    if stored is not None:
        path = reverse("recording-media", urlconf="config.urls_tenants", kwargs={"pk": stored.pk})
        return RecordingLink(url=tenant_base_url(current_tenant()) + path, duration=stored.duration_seconds)
    if conversation.recording_url:
        return RecordingLink(url=conversation.recording_url, duration=conversation.recording_duration)
    return None


def call_result(conversation: Conversation) -> CallResult:
    analysis = ConversationAnalysis.objects.filter(conversation=conversation).first()
    return CallResult(
        tenant_id=current_tenant().slug,
        conversation=conversation,
        transcript=list(conversation.turns.order_by("index")),
        analysis=analysis,
        recording=recording_of(conversation),
    )


def _agent_choices() -> list[tuple[int, str]]:
    """The tenant's agents, by id (read when the filter's form is made, in the tenant's schema)."""
    return list(Agent.objects.order_by("name").values_list("pk", "name"))


class ConversationFilter(django_filters.FilterSet):
    """The conversation list's filters, shared by the API and the portal."""

    agent = django_filters.TypedChoiceFilter(field_name="agent_id", choices=_agent_choices, coerce=int, label="Agent")
    direction = django_filters.ChoiceFilter(choices=Conversation.Direction.choices)
    sentiment = django_filters.ChoiceFilter(
        field_name="analysis__sentiment", choices=ConversationAnalysis.Sentiment.choices
    )
    rating = django_filters.NumberFilter(field_name="analysis__rating", label="Rating")
    min_rating = django_filters.NumberFilter(field_name="analysis__rating", lookup_expr="gte", label="Rating at least")
    category = django_filters.CharFilter(method="_with_category", label="Category")
    start_date = django_filters.DateFilter(field_name="started_at", lookup_expr="date__gte", label="From")
    end_date = django_filters.DateFilter(field_name="started_at", lookup_expr="date__lte", label="To")

    class Meta:
        model = Conversation
        fields = ["agent", "direction", "sentiment", "rating", "min_rating", "category", "start_date", "end_date"]

    def _with_category(self, queryset: QuerySet[Conversation], name: str, value: str) -> QuerySet[Conversation]:
        return queryset.filter(analysis__categories__contains=[value]) if value else queryset


@dataclass(frozen=True)
class DayOfCalls:
    day: date
    calls: int
    average_rating: float | None


def daily_calls(*, days: int, until: date) -> list[DayOfCalls]:
    """Calls with an agent per day (the current time zone's days) for the `days` days up to `until`, with the
    average rating of those analysed."""
    first_day = until - timedelta(days=days - 1)
    start = timezone.make_aware(datetime.combine(first_day, time.min))
    end = timezone.make_aware(datetime.combine(until + timedelta(days=1), time.min))
    rows = (
        Conversation.objects.filter(started_at__gte=start, started_at__lt=end)
        .exclude(direction=Conversation.Direction.CONSOLE)
        .annotate(day=TruncDate("started_at"))
        .values("day")
        .annotate(
            calls=Count("id"),
            average_rating=Avg("analysis__rating", filter=Q(analysis__status=ConversationAnalysis.Status.DONE)),
        )
        .order_by()
    )
    found = {row["day"]: row for row in rows}
    days_listed = [first_day + timedelta(days=n) for n in range(days)]
    return [
        DayOfCalls(
            day=day,
            calls=found[day]["calls"] if day in found else 0,
            average_rating=found[day]["average_rating"] if day in found else None,
        )
        for day in days_listed
    ]
