from django.db import models


class Conversation(models.Model):
    """One AI conversation: a call run by an agent over ConversationRelay, or a portal console session."""

    class Direction(models.TextChoices):
        INBOUND = "inbound", "Inbound call"
        OUTBOUND = "outbound", "Outbound call"
        CONSOLE = "console", "Portal console"

    class Status(models.TextChoices):
        LIVE = "live", "Live"
        ENDED = "ended", "Ended"
        FAILED = "failed", "Failed"

    class EndReason(models.TextChoices):
        CALLER_HUNG_UP = "caller_hung_up", "Caller hung up"
        AGENT_ENDED = "agent_ended", "Agent ended the call"
        TRANSFERRED = "transferred", "Transferred to a human"
        MAX_DURATION = "max_duration", "Maximum duration reached"
        SILENCE = "silence", "Caller silent too long"
        ERROR = "error", "Error"
        # An outbound call that never reached its agent.
        NO_ANSWER = "no_answer", "Not answered"
        BUSY = "busy", "Line busy"
        CALL_FAILED = "failed", "Call failed"
        CANCELED = "canceled", "Call canceled"

    # Unique among calls; console sessions have no call and leave it blank (hence the conditional constraint).
    call_sid = models.CharField(max_length=64, blank=True, default="")
    agent_id = models.IntegerField(null=True, blank=True)
    agent_name = models.CharField(max_length=200, blank=True, default="")
    agent_version = models.IntegerField(default=0)
    direction = models.CharField(max_length=16, choices=Direction.choices, default=Direction.INBOUND)
    customer_number = models.CharField(max_length=32, blank=True, default="")
    agent_number = models.CharField(max_length=32, blank=True, default="")
    contact = models.JSONField(default=dict, blank=True, help_text="name, phone, email, variables")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.LIVE)
    end_reason = models.CharField(max_length=32, choices=EndReason.choices, blank=True, default="")
    handoff_data = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    recording_sid = models.CharField(max_length=64, blank=True, default="")
    recording_url = models.URLField(max_length=500, blank=True, default="")
    recording_duration = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ("-started_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["call_sid"], condition=~models.Q(call_sid=""), name="conversation_call_sid_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "started_at"]),
            models.Index(fields=["agent_id", "started_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} conversation {self.call_sid or self.pk}"


class Turn(models.Model):
    """One utterance: what the caller said or what the agent replied (and, when cut off, what was heard)."""

    class Role(models.TextChoices):
        USER = "user", "Caller"
        ASSISTANT = "assistant", "Agent"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="turns")
    index = models.PositiveIntegerField()
    role = models.CharField(max_length=16, choices=Role.choices)
    content = models.TextField(blank=True, default="")
    heard = models.TextField(blank=True, default="", help_text="What the caller heard of an interrupted reply.")
    interrupted = models.BooleanField(default=False)
    lang = models.CharField(max_length=16, blank=True, default="")
    latency_ms = models.FloatField(null=True, blank=True, help_text="Caller end of speech -> first token sent.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("conversation", "index")
        constraints = [
            models.UniqueConstraint(fields=["conversation", "index"], name="turn_conversation_index_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.role} turn {self.index}"


class ConversationEvent(models.Model):
    """Something that happened during a conversation besides speech."""

    class Kind(models.TextChoices):
        DTMF = "dtmf", "Digits pressed"
        TOOL_CALL = "tool_call", "Tool call"
        INFO = "info", "Info"
        ERROR = "error", "Error"
        SETUP = "setup", "Setup"
        INTERRUPT = "interrupt", "Interrupt"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("conversation", "created_at", "id")

    def __str__(self) -> str:
        return f"{self.kind} event"


class ConversationAnalysis(models.Model):
    """What the LLM made of a finished conversation (written by the results side)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Sentiment(models.TextChoices):
        POSITIVE = "positive", "Positive"
        NEUTRAL = "neutral", "Neutral"
        NEGATIVE = "negative", "Negative"

    conversation = models.OneToOneField(Conversation, on_delete=models.CASCADE, related_name="analysis")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    rating = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1-5")
    sentiment = models.CharField(max_length=16, choices=Sentiment.choices, blank=True, default="")
    categories = models.JSONField(default=list, blank=True)
    transfer_requested = models.BooleanField(default=False)
    summary = models.TextField(blank=True, default="")
    custom_fields = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "conversation analyses"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | models.Q(rating__gte=1, rating__lte=5),
                name="analysis_rating_1_to_5",
            ),
        ]

    def __str__(self) -> str:
        return f"Analysis of conversation {self.conversation_id}"
