"""GET /api/v1/calls/{id}/result/ (the CallResult, checked against its own OpenAPI component), the conversation
list and its filters, the portal's pages and the staff admin; each tenant sees only its own."""

from copy import deepcopy
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context
from drf_spectacular.generators import SchemaGenerator
from jsonschema import Draft202012Validator
from rest_framework.test import APIClient

from telephony.inbound.models import Recording
from tenants.accounts.models import User
from testsupport.tenants import TenantSetup
from voice.conversations.models import Conversation, ConversationAnalysis
from voice.conversations.tests.results_support import agent_with_analysis, finished_conversation

pytestmark = pytest.mark.django_db


def analysed(conversation: Conversation, **fields: Any) -> ConversationAnalysis:
    values = {
        "status": ConversationAnalysis.Status.DONE,
        "rating": 2,
        "sentiment": "negative",
        "categories": ["billing"],
        "transfer_requested": True,
        "summary": "Charged twice; asked for a person.",
        "custom_fields": {"order_number": "4411", "callback_wanted": False},
        "attempts": 1,
        **fields,
    }
    return ConversationAnalysis.objects.create(conversation=conversation, **values)


def _as_json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema as JSON Schema: `nullable` becomes a null type, and an object with properties takes
    no others, so a field the component does not document fails too."""
    if isinstance(node, list):
        return [_as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _as_json_schema(value) for key, value in node.items() if key not in ("nullable", "readOnly")}
    if "$ref" in converted:
        converted["$ref"] = converted["$ref"].replace("#/components/schemas/", "#/$defs/")
    if node.get("nullable"):
        if "type" in converted:
            converted["type"] = [converted["type"], "null"]
        else:
            converted = {"anyOf": [converted, {"type": "null"}]}
    if "properties" in converted and "additionalProperties" not in converted:
        converted["additionalProperties"] = False
    return converted


def component_validator(name: str) -> Draft202012Validator:
    components = SchemaGenerator(urlconf="config.urls_tenants").get_schema(request=None, public=True)["components"]
    definitions = _as_json_schema(deepcopy(components["schemas"]))
    return Draft202012Validator({"$ref": f"#/$defs/{name}", "$defs": definitions})


def test_the_result_has_the_callresult_shape_by_id_and_by_call_sid(alpha: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        agent = agent_with_analysis()
        conversation = finished_conversation(agent)
        analysed(conversation)
        Recording.objects.create(
            call_sid=conversation.call_sid,
            recording_sid="RE" + "1" * 32,
            media_url="https://api.twilio.com/recordings/RE1",
            duration_seconds=94,
            status=Recording.Status.STORED,
        )
    client = alpha.client(alpha.admin_key)

    by_id = client.get(f"/api/v1/calls/{conversation.pk}/result/")
    by_sid = client.get(f"/api/v1/calls/{conversation.call_sid}/result/")

    assert by_id.status_code == 200 and by_sid.json() == by_id.json()
    result = by_id.json()
    problems = [error.message for error in component_validator("CallResult").iter_errors(result)]
    assert problems == []
    assert result["tenantId"] == "alpha" and result["callId"] == conversation.pk
    assert result["callSid"] == conversation.call_sid and result["status"] == "ended"
    with tenant_context(alpha.tenant):
        recording_id = Recording.objects.get().pk
    assert result["recording"] == {
        "url": f"http://{alpha.host}{':' + str(settings.SITE_PORT) if settings.SITE_PORT else ''}"
        f"/api/v1/recordings/{recording_id}/media/",
        "duration": 94,
    }
    transcript = result["conversation"]["transcript"]
    assert [(turn["role"], turn["interrupted"]) for turn in transcript] == [
        ("assistant", False),
        ("user", False),
        ("assistant", True),
        ("user", False),
    ]
    assert transcript[2]["content"] == "I am sorry about that, let me look"  # what the caller heard
    assert result["conversation"]["analysis"] == {
        "status": "done",
        "rating": 2,
        "sentiment": "negative",
        "categories": ["billing"],
        "transferRequested": True,
        "summary": "Charged twice; asked for a person.",
        "customFields": {"order_number": "4411", "callback_wanted": False},
        "error": "",
    }
    metadata = result["metadata"]
    assert (metadata["direction"], metadata["customerNumber"], metadata["duration"]) == ("inbound", "+14155559876", 95)
    assert (metadata["agentId"], metadata["agentVersion"], metadata["endReason"]) == (agent.pk, 1, "transferred")


def test_a_result_before_its_analysis_says_so_and_still_fits_the_shape(alpha: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        conversation = finished_conversation(None, interrupted=None)
        Conversation.objects.filter(pk=conversation.pk).update(ended_at=None, status=Conversation.Status.LIVE)

    result = alpha.client(alpha.admin_key).get(f"/api/v1/calls/{conversation.pk}/result/").json()

    assert [error.message for error in component_validator("CallResult").iter_errors(result)] == []
    assert result["conversation"]["analysis"] is None and result["recording"] is None
    assert result["metadata"]["endTime"] is None and result["metadata"]["duration"] is None


def test_another_tenants_result_is_not_found_by_id_or_by_call_sid(alpha: TenantSetup, beta: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        conversation = finished_conversation(agent_with_analysis())
    beta_client = beta.client(beta.admin_key)

    assert beta_client.get(f"/api/v1/calls/{conversation.pk}/result/").status_code == 404
    assert beta_client.get(f"/api/v1/calls/{conversation.call_sid}/result/").status_code == 404
    # A's key on B's host is refused outright.
    assert beta.client(alpha.admin_key).get(f"/api/v1/calls/{conversation.pk}/result/").status_code in (401, 403)
    assert alpha.client(alpha.admin_key).get("/api/v1/calls/999999/result/").status_code == 404


def test_the_list_filters_by_agent_sentiment_rating_category_and_date(alpha: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        front, sales = agent_with_analysis(), agent_with_analysis(name="Sales", categories=["lead", "billing"])
        upset = finished_conversation(front, call_sid="CA" + "a" * 32, started_minutes_ago=2)
        happy = finished_conversation(sales, call_sid="CA" + "b" * 32)
        old = finished_conversation(sales, call_sid="CA" + "c" * 32, started_minutes_ago=60 * 24 * 10)
        analysed(upset)
        analysed(happy, rating=5, sentiment="positive", categories=["lead"])
        analysed(old, rating=4, sentiment="positive", categories=["billing"])
    client = alpha.client(alpha.admin_key)

    def listed(**query: Any) -> list[int]:
        answer = client.get("/api/v1/ai-conversations/", query)
        assert answer.status_code == 200, answer.content
        return [row["callId"] for row in answer.json()["results"]]

    today = timezone.localdate()
    assert listed() == [upset.pk, happy.pk, old.pk]
    assert listed(agent=sales.pk) == [happy.pk, old.pk]
    assert listed(sentiment="positive") == [happy.pk, old.pk]
    assert listed(rating=2) == [upset.pk]
    assert listed(min_rating=4) == [happy.pk, old.pk]
    assert listed(category="billing") == [upset.pk, old.pk]
    assert listed(start_date=(today - timedelta(days=1)).isoformat()) == [upset.pk, happy.pk]
    assert listed(end_date=(today - timedelta(days=5)).isoformat()) == [old.pk]
    assert listed(sentiment="positive", category="lead") == [happy.pk]
    refused = client.get("/api/v1/ai-conversations/", {"sentiment": "furious"})
    assert refused.status_code == 400 and "sentiment" in refused.json()["errors"]
    row = client.get("/api/v1/ai-conversations/", {"rating": 5}).json()["results"][0]
    assert row["analysis"]["categories"] == ["lead"] and row["agentName"] == "Sales"


def test_the_list_and_its_entries_are_the_tenants_own(alpha: TenantSetup, beta: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        conversation = finished_conversation(agent_with_analysis())

    assert beta.client(beta.admin_key).get("/api/v1/ai-conversations/").json()["results"] == []
    assert beta.client(beta.admin_key).get(f"/api/v1/ai-conversations/{conversation.pk}/").status_code == 404
    assert alpha.client(alpha.admin_key).get(f"/api/v1/ai-conversations/{conversation.pk}/").status_code == 200


def test_the_portal_lists_conversations_with_a_chart_and_filters(alpha: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        front = agent_with_analysis()
        upset = finished_conversation(front, call_sid="CA" + "a" * 32)
        happy = finished_conversation(front, call_sid="CA" + "b" * 32)
        analysed(upset)
        analysed(happy, rating=5, sentiment="positive", categories=["booking"])
    browser = alpha.signed_in()

    page = browser.get("/ai-conversations/").content.decode()
    positive = browser.get("/ai-conversations/", {"sentiment": "positive"}).content.decode()

    assert f"/ai-conversations/{upset.pk}/" in page and f"/ai-conversations/{happy.pk}/" in page
    assert "2 calls, average rating 3.5" in page  # today's column of the chart
    assert 'class="rating-line"' in page
    assert f"/ai-conversations/{happy.pk}/" in positive and f"/ai-conversations/{upset.pk}/" not in positive


def test_the_portal_shows_the_transcript_with_the_interruption_the_analysis_and_the_recording(
    alpha: TenantSetup, beta: TenantSetup
) -> None:
    with tenant_context(alpha.tenant):
        conversation = finished_conversation(agent_with_analysis())
        analysed(conversation)
        recording = Recording.objects.create(
            call_sid=conversation.call_sid,
            recording_sid="RE" + "2" * 32,
            media_url="https://api.twilio.com/recordings/RE2",
            status=Recording.Status.STORED,
        )
        recording.file.save("call.wav", ContentFile(b"RIFF"), save=True)

    page = alpha.signed_in().get(f"/ai-conversations/{conversation.pk}/").content.decode()

    assert "I am sorry about that, let me look" in page and "[interrupted]" in page
    assert "your bill" not in page  # what the agent would have said, unheard
    assert "Charged twice; asked for a person." in page and "2/5" in page and "order_number" in page
    assert f'<audio controls preload="none" src="/recordings/{recording.pk}/media/' in page
    assert beta.signed_in().get(f"/ai-conversations/{conversation.pk}/").status_code == 404


def test_a_failed_analysis_is_shown_with_its_reason(alpha: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        conversation = finished_conversation(agent_with_analysis())
        analysed(conversation, status="failed", rating=None, sentiment="", categories=[], error="malformed answer: x")

    page = alpha.signed_in().get(f"/ai-conversations/{conversation.pk}/").content.decode()

    assert "The analysis failed after 1 attempt: malformed answer: x" in page


def test_staff_see_each_tenants_conversations_read_only(alpha: TenantSetup, beta: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        conversation = finished_conversation(agent_with_analysis(name="Alpha desk"))
    browser = APIClient(HTTP_HOST=settings.BASE_DOMAIN)
    with schema_context("public"):
        User.objects.create_superuser("root@platform.test", "staff-password-1")
    assert browser.login(username="root@platform.test", password="staff-password-1")

    alphas = browser.get("/admin/conversations/conversation/", {"tenant": "alpha"}).content.decode()
    detail = browser.get(f"/admin/conversations/conversation/{conversation.pk}/change/").content.decode()
    changed = browser.post(f"/admin/conversations/conversation/{conversation.pk}/change/", {})
    betas = browser.get("/admin/conversations/conversation/", {"tenant": "beta"}).content.decode()

    assert "Alpha desk" in alphas and "Alpha desk" not in betas
    assert "I was charged twice for order 4411." in detail
    assert changed.status_code == 403
