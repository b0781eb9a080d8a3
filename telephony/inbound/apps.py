from django.apps import AppConfig


class InboundConfig(AppConfig):
    """What a tenant's numbers do when they are called or texted: call flows, auto-replies, recordings."""

    name = "telephony.inbound"
    label = "inbound"
    verbose_name = "Inbound calls and SMS"
