from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand

from billing.models import Plan

# The plans a new installation offers (their Stripe prices are the sandbox's; in live mode set real ones in the admin).
PLANS: list[dict[str, Any]] = [
    {
        "name": "Starter",
        "stripe_price_id": "price_switchboard_starter",
        "monthly_price": Decimal("29.00"),
        "included_numbers": 1,
        "included_minutes": 500,
        "included_segments": 1000,
        "overage_per_minute": Decimal("0.0200"),
        "overage_per_segment": Decimal("0.0100"),
        "overage_per_number": Decimal("2.00"),
        "max_calls_per_day": 500,
        "max_messages_per_day": 2000,
        "api_rate_limit_per_minute": 300,
        "max_users": 5,
        "max_api_keys": 5,
        "allowed_countries": ["US", "CA"],
    },
    {
        "name": "Business",
        "stripe_price_id": "price_switchboard_business",
        "monthly_price": Decimal("99.00"),
        "included_numbers": 3,
        "included_minutes": 3000,
        "included_segments": 10000,
        "overage_per_minute": Decimal("0.0150"),
        "overage_per_segment": Decimal("0.0080"),
        "overage_per_number": Decimal("1.50"),
        "max_calls_per_day": 2000,
        "max_messages_per_day": 10000,
        "api_rate_limit_per_minute": 600,
        "max_users": 25,
        "max_api_keys": 20,
        "allowed_countries": ["US", "CA", "GB"],
    },
]


class Command(BaseCommand):
    help = "Creates the default plans where they are missing (an existing plan of the same name is left as it is)."

    def handle(self, *args: Any, **options: Any) -> None:
        for fields in PLANS:
            _, created = Plan.objects.get_or_create(name=fields["name"], defaults=fields)
            self.stdout.write(f"{fields['name']}: {'created' if created else 'kept'}")
