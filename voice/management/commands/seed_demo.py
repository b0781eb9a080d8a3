from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import get_public_schema_name

from tenants.selectors import tenant_by_slug
from voice.demo import demo_messages_seed


class Command(BaseCommand):
    help = "Creates the sample voice messages in a tenant, once: running it again keeps what is there."

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
