from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from telephony.demo import DemoSetupError, demo_inbound_seed, demo_sender_seed
from telephony.registry.provisioning import TwilioUnavailable
from tenants.commands import customer_tenant_or_error
from voice.demo import demo_messages_seed

# Twilio's test number that accepts anything as a sender; in the sandbox it is a working long code.
DEMO_SENDER = "+15005550006"


class Command(BaseCommand):
    help = (
        "Creates the sample voice messages and a default sender in a tenant, once: running it again keeps what is there. "
        "With the Twilio sandbox the tenant's subaccount buys the sender's number there, so it is verified at once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="Slug of the tenant to seed.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = customer_tenant_or_error(options["tenant"])
        for outcome in demo_messages_seed(tenant=tenant):
            self.stdout.write(f"{'created' if outcome.created else 'kept'}: {outcome.name}")
        try:
            sender = demo_sender_seed(tenant=tenant, phone_number=DEMO_SENDER)
        except (DemoSetupError, TwilioUnavailable) as exc:
            raise CommandError(f"The default sender {DEMO_SENDER} is not set up: {exc}") from exc
        self.stdout.write(f"default sender: {sender.phone_number} ({sender.status})")
        try:
            number = demo_inbound_seed(tenant=tenant, sender=sender)
        except DemoSetupError as exc:
            raise CommandError(f"Inbound calls to {DEMO_SENDER} are not set up: {exc}") from exc
        self.stdout.write(f"inbound: {number} answers with the demo menu")
