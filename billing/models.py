"""Plans, each tenant's subscription and billing profile, Stripe's events as received, invoices, checkouts and
the auto-provisioning of a plan's numbers. All in the public schema: Stripe's webhook arrives on the public host."""

from decimal import Decimal

from django.db import models

from tenants.models import Tenant


class Plan(models.Model):
    """What a tenant pays for, and the limits its subscription applies to the tenant."""

    name = models.CharField(max_length=100, unique=True)
    stripe_price_id = models.CharField(max_length=100, unique=True, help_text="The recurring Price in Stripe.")
    monthly_price = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    is_public = models.BooleanField(default=True, help_text="Offered in the portal.")
    included_numbers = models.PositiveIntegerField(default=1)
    included_minutes = models.PositiveIntegerField(default=0)
    included_segments = models.PositiveIntegerField(default=0, help_text="SMS segments per billing period.")
    overage_per_minute = models.DecimalField(max_digits=8, decimal_places=4, default=Decimal("0"))
    overage_per_segment = models.DecimalField(max_digits=8, decimal_places=4, default=Decimal("0"))
    overage_per_number = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("0"))
    # Applied to the tenant (tenants.Tenant's fields of the same names) when its subscription takes the plan.
    max_calls_per_day = models.PositiveIntegerField()
    max_messages_per_day = models.PositiveIntegerField()
    api_rate_limit_per_minute = models.PositiveIntegerField(help_text="0 means unlimited.")
    max_users = models.PositiveIntegerField()
    max_api_keys = models.PositiveIntegerField()
    allowed_countries = models.JSONField(default=list, blank=True, help_text="ISO country codes.")

    LIMIT_FIELDS = (
        "max_calls_per_day",
        "max_messages_per_day",
        "api_rate_limit_per_minute",
        "max_users",
        "max_api_keys",
        "allowed_countries",
    )

    class Meta:
        ordering = ["monthly_price", "name"]

    def __str__(self) -> str:
        return self.name


class BillingProfile(models.Model):
    """The tenant as Stripe's customer, and where its plan's numbers should come from."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="billing_profile")
    stripe_customer_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    number_country = models.CharField(max_length=2, default="US", help_text="Country of auto-provisioned numbers.")
    number_area_code = models.CharField(max_length=8, blank=True, help_text="Preferred area code, if any.")

    def __str__(self) -> str:
        return f"billing of {self.tenant}"


class Subscription(models.Model):
    """The tenant's Stripe subscription as last read from Stripe, and what it did to the tenant."""

    class Status(models.TextChoices):
        INCOMPLETE = "incomplete", "Incomplete"
        INCOMPLETE_EXPIRED = "incomplete_expired", "Incomplete, expired"
        TRIALING = "trialing", "Trialing"
        ACTIVE = "active", "Active"
        PAST_DUE = "past_due", "Past due"
        CANCELED = "canceled", "Canceled"
        UNPAID = "unpaid", "Unpaid"
        PAUSED = "paused", "Paused"

    IN_GOOD_STANDING = (Status.ACTIVE, Status.TRIALING)
    # Still billed by Stripe: a second subscription would be billed on top.
    LIVE = (Status.ACTIVE, Status.TRIALING, Status.PAST_DUE)
    ENDED = (Status.CANCELED, Status.INCOMPLETE_EXPIRED)
    # Suspended at once (no service without payment); past_due gets the grace period first.
    SUSPENDING = (Status.CANCELED, Status.INCOMPLETE_EXPIRED, Status.UNPAID, Status.PAUSED)

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="subscription")
    stripe_subscription_id = models.CharField(max_length=100, unique=True)
    plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(max_length=24, choices=Status.choices)
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    # When the state applied was read from Stripe.
    synced_at = models.DateTimeField(null=True, blank=True)
    past_due_since = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True, help_text="When it was canceled or expired.")
    numbers_released_at = models.DateTimeField(null=True, blank=True)
    # Only a suspension billing made is lifted by billing; one by staff stays.
    suspended_by_billing = models.BooleanField(default=False)

    class Meta:
        ordering = ["tenant__slug"]

    def __str__(self) -> str:
        return f"{self.tenant} {self.status}"


class StripeEvent(models.Model):
    """Every event Stripe sent, once (by its id), with what processing it did."""

    class Result(models.TextChoices):
        PENDING = "pending", "Pending"
        APPLIED = "applied", "Applied"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"

    event_id = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=100)
    created = models.DateTimeField(help_text="When Stripe made the event.")
    livemode = models.BooleanField(default=False)
    payload = models.JSONField()
    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    result = models.CharField(max_length=16, choices=Result.choices, default=Result.PENDING)
    detail = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["result", "received_at"])]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"


class Invoice(models.Model):
    """A Stripe invoice of the tenant, as Stripe last reported it."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="invoices")
    stripe_invoice_id = models.CharField(max_length=100, unique=True)
    number = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=24)
    amount_due = models.DecimalField(max_digits=12, decimal_places=2)
    amount_paid = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    hosted_invoice_url = models.URLField(max_length=500, blank=True)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField()

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return self.number or self.stripe_invoice_id


class StripeRedirect(models.Model):
    """A Checkout or Customer Portal session asked for in the portal: a worker asks Stripe for it, the page
    that asked waits for its URL and then sends the user there."""

    class Kind(models.TextChoices):
        CHECKOUT = "checkout", "Checkout"
        PORTAL = "portal", "Customer portal"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    return_url = models.URLField(max_length=500)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    url = models.URLField(max_length=1000, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_by = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class NumberProvisioning(models.Model):
    """Buying the numbers the tenant's plan includes: never blocks the subscription; failures are kept, shown
    and tried again with backoff."""

    class Status(models.TextChoices):
        IDLE = "idle", "Nothing to do"
        RUNNING = "running", "Buying"
        FAILED = "failed", "Failed, will try again"
        DONE = "done", "Done"

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="number_provisioning")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IDLE)
    wanted = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0, help_text="Failed attempts in a row.")
    last_error = models.TextField(blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"numbers of {self.tenant}: {self.status}"


class MeterReport(models.Model):
    """A day's usage reported to Stripe as a meter event, once (its identifier makes Stripe drop a repeat)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    event_name = models.CharField(max_length=100)
    quantity = models.PositiveIntegerField()
    reported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "day", "event_name"], name="one_meter_report_a_day")]
