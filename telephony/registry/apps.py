from django.apps import AppConfig


class RegistryConfig(AppConfig):
    """Telephony records that live in the public schema: each tenant's Twilio account, and which tenant a number
    belongs to (webhooks on the public host read both before they know the tenant's schema)."""

    name = "telephony.registry"
    label = "telephony_registry"
    verbose_name = "Twilio accounts and numbers"

    def ready(self) -> None:
        from telephony.registry import lifecycle  # noqa: F401  (connects the tenant status hooks)
