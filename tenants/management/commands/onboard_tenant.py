import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from tenants import selectors, services
from tenants.accounts.roles import Role
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Onboards a tenant (schema, domain, admin user, admin API key) and prints it as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", default="")
        parser.add_argument("--admin-email", required=True)
        parser.add_argument("--admin-password", help="Without it the output carries a set-password link.")
        parser.add_argument(
            "--exists-ok",
            action="store_true",
            help="If the tenant exists, print it with a fresh admin API key instead of failing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["slug"].strip().lower()
        existing = selectors.tenant_by_slug(slug=slug)
        if existing is not None and options["exists_ok"]:
            payload = self._existing_tenant_payload(existing, options)
        else:
            try:
                result = services.tenant_onboard(
                    name=options["name"] or slug,
                    slug=slug,
                    admin_email=options["admin_email"],
                    admin_password=options["admin_password"],
                )
            except ValidationError as exc:
                raise CommandError(json.dumps(exc.message_dict)) from exc
            payload = result.as_dict()
        self.stdout.write(json.dumps(payload))

    def _existing_tenant_payload(self, tenant: Tenant, options: dict[str, Any]) -> dict[str, Any]:
        _, raw_key = services.api_key_create(
            tenant=tenant, name=f"CLI key {timezone.now():%Y-%m-%d %H:%M}", role=Role.ADMIN, created_by="onboard_tenant"
        )
        existing = services.OnboardingResult(
            tenant=tenant,
            domain=tenant.get_primary_domain().domain,
            admin_email=options["admin_email"],
            api_key=raw_key,
            set_password_url=None,
        )
        return {**existing.as_dict(), "existing": True}
