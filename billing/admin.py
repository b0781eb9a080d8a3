from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from billing import selectors
from billing.models import BillingProfile, Invoice, NumberProvisioning, Plan, StripeEvent, Subscription


class ReadOnlyAdmin(admin.ModelAdmin):
    """What Stripe says is kept as Stripe says it: staff read it here and change it in Stripe."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "monthly_price",
        "currency",
        "stripe_price_id",
        "included_numbers",
        "included_minutes",
        "included_segments",
        "is_public",
    ]
    list_filter = ["is_public"]
    search_fields = ["name", "stripe_price_id"]


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["tenant", "plan", "status", "current_period_end", "past_due_since", "ended_at", "synced_at"]
    list_filter = ["status", "plan", "suspended_by_billing"]
    search_fields = ["tenant__slug", "tenant__name", "stripe_subscription_id"]
    list_select_related = ["tenant", "plan"]
    readonly_fields = ["usage_this_period"]

    @admin.display(description="Usage this period")
    def usage_this_period(self, subscription: Subscription) -> str:
        usage = selectors.usage_for_period(tenant=subscription.tenant, subscription=subscription)
        totals = usage.totals()
        rows = format_html_join(
            "",
            "<li>{}: {} used of {} included, {} over ({} {})</li>",
            ((a.name, a.used, a.included, a.over, a.overage_cost, usage.currency) for a in usage.allowances),
        )
        costs = ", ".join(
            f"{amount:.2f} {currency}" for currency, amount in selectors.costs_by_currency(usage.days).items()
        )
        return format_html(
            "<p>{} to {}: {} calls, {} SMS; cost {}</p><ul>{}</ul>",
            usage.first,
            usage.last,
            totals.calls,
            totals.sms,
            costs or "none",
            rows,
        )


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "type", "created", "tenant", "result", "detail", "attempts", "processed_at"]
    list_filter = ["result", "type"]
    search_fields = ["event_id", "tenant__slug", "detail"]
    list_select_related = ["tenant"]


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = [
        "stripe_invoice_id",
        "tenant",
        "number",
        "status",
        "amount_due",
        "amount_paid",
        "currency",
        "created",
    ]
    list_filter = ["status"]
    search_fields = ["stripe_invoice_id", "number", "tenant__slug"]
    list_select_related = ["tenant"]


@admin.register(NumberProvisioning)
class NumberProvisioningAdmin(ReadOnlyAdmin):
    """The plan's numbers being bought; a failure is retried with backoff, or at once with the action."""

    list_display = ["tenant", "status", "wanted", "attempts", "last_error", "next_attempt_at", "updated_at"]
    list_filter = ["status"]
    search_fields = ["tenant__slug"]
    list_select_related = ["tenant"]
    actions = ["retry_now"]

    @admin.action(description="Try again now")
    def retry_now(self, request: HttpRequest, queryset: QuerySet[NumberProvisioning]) -> None:
        changed = queryset.filter(status=NumberProvisioning.Status.FAILED).update(next_attempt_at=timezone.now())
        self.message_user(request, f"{changed} will be tried again within a minute.")


@admin.register(BillingProfile)
class BillingProfileAdmin(admin.ModelAdmin):
    list_display = ["tenant", "stripe_customer_id", "number_country", "number_area_code"]
    search_fields = ["tenant__slug", "stripe_customer_id"]
    readonly_fields = ["stripe_customer_id"]
