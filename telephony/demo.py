"""The demo tenant's default sender, its menu and its assistant (`manage.py seed_demo`).

With the built-in sandbox the demo's subaccount buys the number there and the sender is verified at once,
so the demo can send as soon as it runs. With live Twilio nothing is bought: the number is registered and a
worker checks it with Twilio like any other sender.
"""

import time

from django.conf import settings
from django_tenants.utils import tenant_context

from telephony.gateway import Outcome, TwilioGateway
from telephony.inbound.models import CallFlow, NumberSettings
from telephony.models import SenderNumber
from telephony.registry.models import TwilioAccount
from telephony.registry.provisioning import twilio_subaccount_provision
from telephony.registry.services import twilio_account_request_subaccount
from telephony.services import sender_number_register
from telephony.verification import sender_number_verify
from tenants.hosts import tenant_base_url
from tenants.models import Tenant
from voice.agents.models import Agent
from voice.agents.services import agent_create

# bin/run and docker compose start the sandbox alongside seed_demo: how long it may take to answer.
SANDBOX_WAIT_SECONDS = 30
# Where the demo's front desk forwards calls (`sandbox_call --digits 2 --dial no-answer` ends in voicemail).
DEMO_DESK = "+14155550150"


class DemoSetupError(Exception):
    pass


def demo_sender_seed(*, tenant: Tenant, phone_number: str) -> SenderNumber:
    """The tenant's default sender: owned by its subaccount and verified, in sandbox mode. Seeding again
    keeps the number the subaccount already has."""
    if settings.TWILIO_MODE != "sandbox":
        with tenant_context(tenant):
            return sender_number_register(phone_number=phone_number, is_default=True)
    _wait_for_sandbox()
    account = _subaccount_in_sandbox(tenant)
    gateway = TwilioGateway(account_sid=account.account_sid, auth_token=account.auth_token)
    owned = gateway.owned_number(phone_number=phone_number)
    if owned.ok and owned.payload is None:
        owned = gateway.buy_number(phone_number=phone_number)
    if not owned.ok:
        raise DemoSetupError(
            f"The demo's subaccount could not get {phone_number}: Twilio {owned.twilio_code}: {owned.message}"
        )
    with tenant_context(tenant):
        sender = sender_number_register(phone_number=phone_number, is_default=True)
        # Checked here rather than only by the queued task, which then finds it verified.
        return sender_number_verify(sender_id=sender.pk)


def _wait_for_sandbox() -> None:
    deadline = time.monotonic() + SANDBOX_WAIT_SECONDS
    while (answer := TwilioGateway.platform().verify_credentials()).outcome is Outcome.RETRYABLE:
        if time.monotonic() > deadline:
            raise DemoSetupError(
                f"The Twilio sandbox at {settings.TWILIO_SANDBOX_URL} does not answer ({answer.message}). "
                "Start it with `manage.py run_sandbox` and seed again."
            )
        time.sleep(0.5)
    if not answer.ok:
        raise DemoSetupError(
            f"The Twilio sandbox refuses the platform's account: Twilio {answer.twilio_code}: {answer.message}"
        )


def _subaccount_in_sandbox(tenant: Tenant) -> TwilioAccount:
    """The tenant's subaccount, created now if a worker has not done it yet (the task queued for it then finds
    it done). The sandbox keeps its state in memory, so one restarted since the last seeding no longer knows
    the subaccount it created then: the tenant gets a new one."""
    account = TwilioAccount.objects.get(tenant=tenant)
    if account.is_usable:
        known = TwilioGateway(account_sid=account.account_sid, auth_token=account.auth_token).verify_credentials()
        if known.outcome is Outcome.PERMANENT:
            account = twilio_account_request_subaccount(tenant=tenant)
    if account.status == TwilioAccount.Status.PROVISIONING:
        account = twilio_subaccount_provision(tenant_id=tenant.pk)
    if not account.is_usable:
        raise DemoSetupError(
            f"The demo's Twilio subaccount is {account.get_status_display().lower()}: {account.status_detail}"
        )
    return account


def demo_inbound_seed(*, tenant: Tenant, sender: SenderNumber) -> str:
    """What the demo's number does when called or texted: a menu (1: opening hours, 2: the front desk, then
    voicemail when nobody answers, 3: the demo's AI assistant) and an auto-reply; with the sandbox, Twilio's webhooks point at the
    tenant's host, so `manage.py sandbox_call` rings it. Seeding again keeps flows that are there."""
    with tenant_context(tenant):
        if not CallFlow.objects.filter(name="Demo menu").exists():
            voicemail = _flow(name="Demo voicemail", kind="voicemail", text="Please leave a message after the tone.")
            hours = _flow(name="Demo opening hours", kind="message", text="We are open Monday to Friday, nine to five.")
            desk = _flow(name="Demo front desk", kind="forward", forward_to=DEMO_DESK, next_flow=voicemail)
            menu = _flow(
                name="Demo menu",
                kind="menu",
                text="Good {time_of_day}, thank you for calling Demo Clinic. Press 1 for our opening hours, "
                "2 for the front desk, or 3 to talk to our assistant.",
                options={"1": hours.pk, "2": desk.pk, "3": _demo_assistant_flow().pk},
                next_flow=voicemail,
            )
            NumberSettings.objects.update_or_create(
                phone_number=sender.phone_number,
                defaults={"call_flow": menu, "auto_reply": "Thanks for your message! We reply within a working day."},
            )
        if settings.TWILIO_MODE == "sandbox" and sender.twilio_sid:
            base = tenant_base_url(tenant)
            account = TwilioAccount.objects.get(tenant=tenant)
            configured = TwilioGateway(account_sid=account.account_sid, auth_token=account.auth_token).configure_number(
                sid=sender.twilio_sid,
                voice_url=base + "/webhooks/twilio/voice/",
                sms_url=base + "/webhooks/twilio/sms/",
                status_callback=base + "/webhooks/twilio/voice/status/",
            )
            if not configured.ok:
                raise DemoSetupError(f"The demo's number could not be pointed at the platform: {configured.message}")
    return sender.phone_number


def _demo_assistant_flow() -> CallFlow:
    """The menu's 3: the tenant's default agent, on the fake LLM (`sandbox_call --digits 3 --say "Hello"`)."""
    if not Agent.objects.filter(is_default=True).exists():
        agent_create(
            fields={
                "name": "Demo assistant",
                "system_prompt": "You are the friendly receptionist of Demo Clinic. Answer briefly; offer to "
                "transfer the caller to the front desk when they ask for a person.",
                "greeting": "Hello, this is the Demo Clinic assistant. How can I help?",
                "transfer_numbers": [DEMO_DESK],
                "analysis_categories": ["appointment", "opening hours", "other"],
            },
            created_by="seed_demo",
            make_default=True,
        )
    return _flow(name="Demo assistant", kind="agent")


def _flow(**fields: object) -> CallFlow:
    flow = CallFlow(**fields)
    flow.full_clean()
    flow.save()
    return flow
