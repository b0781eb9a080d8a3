from datetime import date, timedelta

from rest_framework import serializers

from telephony.numbers.validators import AREA_CODE_MESSAGE, AREA_CODE_PATTERN

# The longest span one usage request may cover.
MAX_USAGE_DAYS = 366


class UsageQuerySerializer(serializers.Serializer):
    """?from=YYYY-MM-DD&to=YYYY-MM-DD, both included; without them, the current billing period so far."""

    to = serializers.DateField(required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        # "from" is a Python keyword, so the field is added under its name here.
        return {"from": serializers.DateField(required=False), **super().get_fields()}

    def validate(self, attrs: dict[str, date]) -> dict[str, date]:
        first, last = attrs.get("from"), attrs.get("to")
        if (first is None) != (last is None):
            missing = "to" if last is None else "from"
            raise serializers.ValidationError({missing: ["Give both from and to, or neither."]})
        if first is not None and last is not None:
            if first > last:
                raise serializers.ValidationError({"to": ["Must not be before from."]})
            if last - first >= timedelta(days=MAX_USAGE_DAYS):
                raise serializers.ValidationError({"to": [f"At most {MAX_USAGE_DAYS} days at a time."]})
        return attrs


class CostsField(serializers.DictField):
    child = serializers.DecimalField(max_digits=14, decimal_places=5)


class DayUsageSerializer(serializers.Serializer):
    day = serializers.DateField()
    calls = serializers.IntegerField()
    minutes = serializers.IntegerField()
    sms = serializers.IntegerField()
    segments = serializers.IntegerField()
    numbers = serializers.IntegerField()
    twilio_costs = CostsField()
    rental_costs = CostsField()
    total_costs = CostsField()


class AllowanceSerializer(serializers.Serializer):
    name = serializers.CharField()
    included = serializers.IntegerField()
    used = serializers.IntegerField()
    over = serializers.IntegerField()
    overage_price = serializers.DecimalField(max_digits=10, decimal_places=4)
    overage_cost = serializers.DecimalField(max_digits=12, decimal_places=2)


class UsageSerializer(serializers.Serializer):
    to = serializers.DateField(source="last")
    plan = serializers.CharField(allow_null=True)
    subscription_status = serializers.CharField(allow_null=True)
    currency = serializers.CharField()
    totals = DayUsageSerializer()
    allowances = AllowanceSerializer(many=True)
    overage_cost = serializers.DecimalField(max_digits=12, decimal_places=2)
    days = DayUsageSerializer(many=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        return {"from": serializers.DateField(source="first"), **super().get_fields()}


class SubscriptionSerializer(serializers.Serializer):
    status = serializers.CharField()
    current_period_start = serializers.DateTimeField(allow_null=True)
    current_period_end = serializers.DateTimeField(allow_null=True, help_text="The next invoice, unless canceling.")
    cancel_at_period_end = serializers.BooleanField()
    past_due_since = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)


class PlanSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    monthly_price = serializers.DecimalField(max_digits=10, decimal_places=2)
    currency = serializers.CharField()
    included_numbers = serializers.IntegerField()
    included_minutes = serializers.IntegerField()
    included_segments = serializers.IntegerField()


class ProvisioningSerializer(serializers.Serializer):
    status = serializers.CharField()
    wanted = serializers.IntegerField()
    attempts = serializers.IntegerField()
    last_error = serializers.CharField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)


class InvoiceSerializer(serializers.Serializer):
    id = serializers.CharField(source="stripe_invoice_id")
    number = serializers.CharField()
    status = serializers.CharField()
    amount_due = serializers.DecimalField(max_digits=12, decimal_places=2)
    amount_paid = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    hosted_invoice_url = serializers.CharField()
    period_start = serializers.DateTimeField(allow_null=True)
    period_end = serializers.DateTimeField(allow_null=True)
    created = serializers.DateTimeField()


class NumberPreferencesSerializer(serializers.Serializer):
    country = serializers.RegexField(r"^[A-Za-z]{2}$", help_text="ISO country of the plan's numbers, e.g. US.")
    area_code = serializers.RegexField(
        AREA_CODE_PATTERN, allow_blank=True, required=False, default="", error_messages={"invalid": AREA_CODE_MESSAGE}
    )


class BillingSerializer(serializers.Serializer):
    plan = PlanSerializer(allow_null=True)
    subscription = SubscriptionSerializer(allow_null=True)
    number_preferences = NumberPreferencesSerializer()
    provisioning = ProvisioningSerializer(allow_null=True)
    invoices = InvoiceSerializer(many=True)
