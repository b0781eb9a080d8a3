from django.apps import AppConfig


class RegistryConfig(AppConfig):
    """Telephony records that live in the public schema: each tenant's Twilio account."""

    name = "telephony.registry"
    label = "telephony_registry"
    verbose_name = "Twilio accounts"
