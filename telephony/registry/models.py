from django.db import models

from tenants.models import Tenant
from tenants.secrets import EncryptedTextField


class TwilioStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    CLOSED = "closed", "Closed"


class TwilioAccount(models.Model):
    """The Twilio account a tenant's traffic goes through. Kept in the public schema, so webhooks on the
    public host can check signatures before they know which tenant schema to open."""

    class Kind(models.TextChoices):
        SUBACCOUNT = "subaccount", "Subaccount of the platform"
        OWN = "own", "The tenant's own credentials"

    class Status(models.TextChoices):
        PROVISIONING = "provisioning", "Being created"
        VERIFYING = "verifying", "Being checked with Twilio"
        ACTIVE = "active", "Active"
        INVALID = "invalid", "Rejected by Twilio"

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="twilio_account")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.SUBACCOUNT)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROVISIONING)
    account_sid = models.CharField(max_length=34, blank=True)
    auth_token = EncryptedTextField(blank=True)
    status_detail = models.CharField(max_length=500, blank=True)
    twilio_status = models.CharField(
        max_length=16,
        choices=TwilioStatus.choices,
        default=TwilioStatus.ACTIVE,
        help_text="The subaccount's status at Twilio: it follows the tenant's suspension, and closing is final.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.tenant.slug}: {self.account_sid or self.get_status_display()}"

    @property
    def is_usable(self) -> bool:
        return self.status == self.Status.ACTIVE and bool(self.account_sid)


class PhoneNumberRoute(models.Model):
    """Which tenant a phone number belongs to: how a webhook on the public host finds the tenant of the
    number Twilio called (`To`). A number belongs to at most one tenant."""

    phone_number = models.CharField(max_length=32, unique=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="phone_number_routes")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.phone_number} -> {self.tenant.slug}"
