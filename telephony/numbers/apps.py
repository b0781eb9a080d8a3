from django.apps import AppConfig


class NumbersConfig(AppConfig):
    """The tenant's phone numbers on Twilio: searched, bought, configured and released."""

    name = "telephony.numbers"
    label = "numbers"
    verbose_name = "Phone numbers"
