import uuid
from decimal import Decimal

from django.db import models


class PhoneNumber(models.Model):
    """A number the tenant bought (or is buying) on Twilio, kept after its release as history."""

    class Status(models.TextChoices):
        PENDING = "pending", "Being bought"
        ACTIVE = "active", "Active"
        FAILED = "failed", "Could not be bought"
        RELEASING = "releasing", "Being released"
        RELEASED = "released", "Released"

    class NumberType(models.TextChoices):
        LOCAL = "local", "Local"
        TOLL_FREE = "toll_free", "Toll-free"
        MOBILE = "mobile", "Mobile"

    class Reason(models.TextChoices):
        API = "api", "Bought through the API"
        PORTAL = "portal", "Bought in the portal"
        PLAN = "plan", "Included in the plan"

    HELD = (Status.PENDING, Status.ACTIVE)
    LIVE = (Status.PENDING, Status.ACTIVE, Status.RELEASING)

    phone_number = models.CharField(max_length=32, blank=True, help_text="E.164; blank until Twilio has chosen one.")
    twilio_sid = models.CharField(max_length=34, blank=True, help_text="The IncomingPhoneNumber on Twilio (PN...).")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    status_detail = models.CharField(max_length=500, blank=True)
    country = models.CharField(max_length=2, default="US")
    number_type = models.CharField(max_length=16, choices=NumberType.choices, default=NumberType.LOCAL)
    area_code = models.CharField(max_length=8, blank=True, help_text="The area code asked for, if any.")
    capabilities = models.JSONField(default=dict, blank=True, help_text='As Twilio reports them: {"voice": true, ...}.')
    monthly_cost = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("0.00"))
    currency = models.CharField(max_length=3, default="USD")
    friendly_name = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=8, choices=Reason.choices, default=Reason.API)
    # Named as the number's FriendlyName at Twilio when bought: how a retry finds a purchase whose worker died
    # before it could record which number Twilio chose.
    purchase_token = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    provisioned_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Bought once at a time; a released number may be bought again (a new row).
            models.UniqueConstraint(
                fields=["phone_number"],
                condition=models.Q(status__in=["pending", "active", "releasing"]) & ~models.Q(phone_number=""),
                name="one_live_phone_number",
            ),
        ]

    def __str__(self) -> str:
        return self.phone_number or f"{self.country} {self.get_number_type_display()} {self.area_code}".strip()

    @property
    def twilio_marker(self) -> str:
        return f"switchboard-{self.purchase_token}"
