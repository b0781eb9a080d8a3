from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django_tenants.utils import get_public_schema_name

from tenants.accounts.models import User
from tenants.models import Domain, Tenant
from tenants.schema_template import ensure_template, refill_schema_pool


class Command(BaseCommand):
    help = "Creates the public tenant and its hosts, builds the tenant template when stale, fills the schema pool. Idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--staff-email", help="Also make sure this platform staff superuser exists.")
        parser.add_argument("--staff-password", help="Its password, set only when the user is created.")

    def handle(self, *args: Any, **options: Any) -> None:
        public, _ = Tenant.objects.get_or_create(
            schema_name=get_public_schema_name(),
            defaults={"name": "Switchboard platform", "slug": "public-platform"},
        )
        for index, host in enumerate([settings.BASE_DOMAIN, *settings.PUBLIC_HOST_ALIASES]):
            Domain.objects.get_or_create(domain=host, defaults={"tenant": public, "is_primary": index == 0})
        if options["staff_email"] and not User.objects.filter(email=options["staff_email"]).exists():
            User.objects.create_superuser(options["staff_email"], options["staff_password"])
            self.stdout.write(f"staff user created: {options['staff_email']}")
        rebuilt = ensure_template()
        pooled = refill_schema_pool()
        self.stdout.write(f"public hosts: {settings.BASE_DOMAIN}, {', '.join(settings.PUBLIC_HOST_ALIASES)}")
        self.stdout.write("tenant template: " + ("rebuilt" if rebuilt else "up to date"))
        self.stdout.write(f"schema pool: {pooled} made")
