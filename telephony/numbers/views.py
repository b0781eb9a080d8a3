"""Portal pages for the tenant's numbers: search what is for sale, buy, set up what answers, release."""

from django.contrib import messages as flash
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST

from config.errors import DomainError
from telephony.numbers import selectors, services
from telephony.numbers.forms import NumberBuyForm, NumberEditForm, NumberSearchForm
from telephony.numbers.models import PhoneNumber
from tenants.accounts.roles import Role
from tenants.db import current_tenant
from tenants.views import form_errors_text, portal_access, portal_redirect, portal_user


@portal_access()
def number_list(request: HttpRequest) -> HttpResponse:
    """The tenant's numbers (with their history), and a search of what Twilio has for sale."""
    numbers = list(selectors.number_list())
    search = NumberSearchForm(request.GET if "country" in request.GET else None)
    offered: list[selectors.NumberForSale] | None = None
    search_error = ""
    if search.is_bound and search.is_valid():
        try:
            offered = selectors.numbers_for_sale(tenant=current_tenant(), query=search.query())
        except DomainError as error:
            search_error = error.message
    settings_by_number = selectors.settings_by_number(numbers)
    context = {
        "numbers": [(number, settings_by_number.get(number.phone_number)) for number in numbers],
        "search": search,
        "offered": offered,
        "search_error": search_error,
        "search_type": search.cleaned_data.get("type") if search.is_bound and search.is_valid() else "local",
        "can_manage": portal_user(request).has_role(Role.ADMIN),
    }
    return render(request, "numbers/list.html", context, status=400 if search.errors else 200)


@require_POST
@portal_access(Role.ADMIN)
def number_buy(request: HttpRequest) -> HttpResponse:
    form = NumberBuyForm(request.POST)
    if not form.is_valid():
        flash.error(request, form_errors_text(form))
        return portal_redirect(request, "number-list")
    try:
        number = services.number_purchase_request(
            tenant=current_tenant(),
            phone_number=form.cleaned_data["phone_number"],
            number_type=form.cleaned_data["type"],
            reason=PhoneNumber.Reason.PORTAL,
        )
    except DomainError as error:
        flash.error(request, error.message)
        return portal_redirect(request, "number-list")
    flash.success(request, f"Buying {number.phone_number}: it is ready in a few seconds.")
    return portal_redirect(request, "number-list")


@portal_access(Role.ADMIN)
def number_edit(request: HttpRequest, number_id: int) -> HttpResponse:
    number = get_object_or_404(PhoneNumber, pk=number_id, status=PhoneNumber.Status.ACTIVE)
    current = selectors.number_settings_of(number)
    initial = {
        "friendly_name": number.friendly_name,
        "call_flow": current.call_flow if current else None,
        "agent": current.agent if current else None,
        "auto_reply": current.auto_reply if current else "",
    }
    form = NumberEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.number_update(tenant=current_tenant(), number=number, **form.cleaned_data)
        flash.success(request, f"{number.phone_number} saved.")
        return portal_redirect(request, "number-list")
    context = {"form": form, "number": number}
    return render(request, "numbers/edit.html", context, status=400 if form.errors else 200)


@portal_access(Role.ADMIN)
def number_release(request: HttpRequest, number_id: int) -> HttpResponse:
    """A confirmation page; releasing is its POST."""
    number = get_object_or_404(PhoneNumber, pk=number_id, status=PhoneNumber.Status.ACTIVE)
    if request.method == "POST":
        services.number_release_request(number=number)
        flash.success(request, f"Releasing {number.phone_number}: calls and SMS to it stop in a few seconds.")
        return portal_redirect(request, "number-list")
    return render(request, "numbers/release.html", {"number": number})
