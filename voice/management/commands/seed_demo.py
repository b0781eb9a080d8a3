from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import get_public_schema_name, tenant_context

from telephony.services import sender_number_register
from tenants.selectors import tenant_by_slug
from voice.demo import demo_messages_seed

# Twilio's test number that accepts anything as a sender; in the sandbox it is a working long code.
DEMO_SENDER = "+15005550006"


class Command(BaseCommand):
    help = "Creates the sample voice messages and a default sender in a tenant, once: running it again keeps what is there."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True, help="Slug of the tenant to seed.")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_by_slug(slug=options["tenant"])
        if tenant is None:
            raise CommandError(f"No tenant with the slug '{options['tenant']}'.")
        if tenant.schema_name == get_public_schema_name():
            raise CommandError("The platform's public tenant holds no voice data; name a customer tenant.")
        for outcome in demo_messages_seed(tenant=tenant):
            self.stdout.write(f"{'created' if outcome.created else 'kept'}: {outcome.name}")
        with tenant_context(tenant):
            sender = sender_number_register(phone_number=DEMO_SENDER, is_default=True)
        self.stdout.write(f"default sender: {sender.phone_number}")
