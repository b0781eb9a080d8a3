"""Post-call analysis with the tenant's LLM (the fake LLM server, through the real SDK): the answer is checked
against the agent's schema; a malformed one is asked for again, a bounded number of times, then the analysis is
recorded as failed with the reason. Nothing the model or its provider does makes the worker crash."""

import json
import time
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import tenant_context
from jsonschema import Draft202012Validator

from config.redis_client import redis_client
from testsupport.queue import QueuedTask
from testsupport.tenants import TenantSetup
from voice.agents.models import ProviderCredential
from voice.agents.services import agent_update, provider_credential_save
from voice.conversations import analysis, results
from voice.conversations.models import ConversationAnalysis
from voice.conversations.tasks import analyze_conversation, resume_stale_analyses, send_end_of_call_webhook
from voice.conversations.tests.results_support import agent_with_analysis, finished_conversation

pytestmark = pytest.mark.django_db

GOOD = {
    "rating": 2,
    "sentiment": "negative",
    "categories": ["billing", "complaint"],
    "transfer_requested": True,
    "summary": "Charged twice for order 4411; asked for a person.",
    "custom_fields": {"order_number": "4411", "callback_wanted": True},
}


@pytest.fixture(autouse=True)
def _no_leases_left() -> None:
    """Leases are released once the analysis commits, which a test's rolled-back transaction never does; ids start
    again with each test database, so an earlier run's leases must not outlive it."""
    for key in redis_client().scan_iter("switchboard:analysis-lease:*"):
        redis_client().delete(key)


def answer(**changes: Any) -> dict[str, Any]:
    return {"json": {**GOOD, **changes}}


def analysed(setup: TenantSetup) -> ConversationAnalysis:
    with tenant_context(setup.tenant):
        conversation = finished_conversation(agent_with_analysis())
        finished = analysis.conversation_analyze(conversation_id=conversation.pk)
    assert finished is not None
    return finished


def test_a_valid_answer_is_kept_as_the_calls_analysis(alpha: TenantSetup, fake_llm: Any) -> None:
    fake_llm.script(replies=[answer()])

    done = analysed(alpha)

    assert done.status == ConversationAnalysis.Status.DONE and done.attempts == 1 and done.error == ""
    assert (done.rating, done.sentiment, done.transfer_requested) == (2, "negative", True)
    assert done.categories == ["billing", "complaint"]
    assert done.custom_fields == {"order_number": "4411", "callback_wanted": True}
    assert done.completed_at is not None
    (request,) = fake_llm.requests()
    sent = json.dumps(request)
    # The model reads what the caller heard of the interrupted reply, not what the agent would have said.
    assert "let me look [interrupted by the caller]" in sent and "your bill" not in sent
    assert "billing, booking, complaint" in sent and "order_number" in sent


def test_a_malformed_answer_is_asked_for_again(alpha: TenantSetup, fake_llm: Any) -> None:
    fake_llm.script(replies=["Sure! The caller seemed upset.", answer(rating=5)])

    done = analysed(alpha)

    assert done.status == ConversationAnalysis.Status.DONE and done.attempts == 2 and done.rating == 5
    assert len(fake_llm.requests()) == 2


def test_a_category_the_agent_does_not_have_is_refused(alpha: TenantSetup, fake_llm: Any) -> None:
    fake_llm.script(replies=[answer(categories=["refund"])] * settings.ANALYSIS_MAX_ATTEMPTS)

    failed = analysed(alpha)

    assert failed.status == ConversationAnalysis.Status.FAILED
    assert failed.attempts == settings.ANALYSIS_MAX_ATTEMPTS == len(fake_llm.requests())
    assert (
        "categories/0" in failed.error and "'refund' is not one of ['billing', 'booking', 'complaint']" in failed.error
    )
    assert failed.rating is None and failed.categories == []


@pytest.mark.parametrize(
    "bad, where",
    [
        (answer(rating=7), "rating: 7 is greater than the maximum of 5"),
        (answer(rating=True), "rating: True is not of type 'integer'"),
        (answer(sentiment="furious"), "sentiment: 'furious' is not one of"),
        (answer(custom_fields={"order_number": 4411, "callback_wanted": True}), "custom_fields/order_number"),
        (answer(custom_fields={"order_number": "4411"}), "'callback_wanted' is a required property"),
        ({"json": ["not", "an", "object"]}, "is not of type 'object'"),
        ({"text": '{"rating": 3'}, "malformed answer"),
    ],
)
def test_an_answer_outside_the_schema_is_retried_then_recorded_as_failed_with_the_reason(
    alpha: TenantSetup, fake_llm: Any, bad: dict[str, Any], where: str
) -> None:
    fake_llm.script(replies=[bad] * settings.ANALYSIS_MAX_ATTEMPTS)

    failed = analysed(alpha)

    assert failed.status == ConversationAnalysis.Status.FAILED
    assert failed.attempts == settings.ANALYSIS_MAX_ATTEMPTS
    assert where in failed.error and failed.error.startswith("malformed answer")


@override_settings(ANALYSIS_RETRY_DELAY_SECONDS=0.05)
def test_a_provider_that_keeps_failing_ends_in_failed_not_a_crash(alpha: TenantSetup, fake_llm: Any) -> None:
    fake_llm.fail_next(settings.ANALYSIS_MAX_ATTEMPTS, kind="503")

    started = time.monotonic()
    failed = analysed(alpha)
    waited = time.monotonic() - started

    assert failed.status == ConversationAnalysis.Status.FAILED and failed.attempts == settings.ANALYSIS_MAX_ATTEMPTS
    assert failed.error.startswith("LLMUnavailable")
    assert waited >= 0.05 + 0.1  # it waited before each try again, longer each time


@override_settings(ANALYSIS_RETRY_DELAY_SECONDS=0.01)
def test_a_provider_down_for_a_moment_is_tried_again(alpha: TenantSetup, fake_llm: Any) -> None:
    fake_llm.fail_next(1, kind="500")
    fake_llm.script(replies=[answer(rating=4)])

    done = analysed(alpha)

    assert done.status == ConversationAnalysis.Status.DONE and done.rating == 4 and done.attempts == 2


def test_a_refused_key_is_not_tried_again(alpha: TenantSetup, fake_llm: Any) -> None:
    fake_llm.fail_next(1, kind="401")

    failed = analysed(alpha)

    assert failed.status == ConversationAnalysis.Status.FAILED and failed.attempts == 1
    assert failed.error.startswith("LLMRefused")


def test_a_provider_the_tenant_has_no_key_for_fails_with_that_reason(alpha: TenantSetup, fake_llm: Any) -> None:
    with tenant_context(alpha.tenant):
        provider_credential_save(provider="openai", api_key="sk-test-" + "x" * 20)
        agent = agent_update(
            agent=agent_with_analysis(), fields={"llm_provider": "openai", "llm_model": "gpt-4.1-mini"}, created_by="t"
        )
        ProviderCredential.objects.all().delete()  # the key removed since the call
        failed = analysis.conversation_analyze(conversation_id=finished_conversation(agent).pk)

    assert failed is not None and failed.status == ConversationAnalysis.Status.FAILED and failed.attempts == 0
    assert failed.error == "no openai credentials: add the provider's key"
    assert fake_llm.requests() == []


def test_the_call_is_analysed_with_the_version_it_ran(alpha: TenantSetup, fake_llm: Any) -> None:
    fake_llm.script(replies=[answer(categories=["booking"])])
    with tenant_context(alpha.tenant):
        agent = agent_with_analysis()
        conversation = finished_conversation(agent)  # ran version 1
        agent_update(agent=agent, fields={"analysis_categories": ["sales"]}, created_by="test")
        done = analysis.conversation_analyze(conversation_id=conversation.pk)

    assert done is not None and done.status == ConversationAnalysis.Status.DONE and done.categories == ["booking"]


def test_a_finished_conversation_queues_its_analysis_then_its_webhook_in_the_tenants_schema(
    alpha: TenantSetup, fake_llm: Any, queued_tasks: list[QueuedTask], django_capture_on_commit_callbacks: Any
) -> None:
    fake_llm.script(replies=[answer()])
    with tenant_context(alpha.tenant):
        conversation = finished_conversation(agent_with_analysis())
        with django_capture_on_commit_callbacks(execute=True):
            results.conversation_finished(conversation=conversation)
        pending = ConversationAnalysis.objects.get(conversation=conversation).status
        ((name, kwargs, schema),) = [(t.name, t.kwargs, t.schema) for t in queued_tasks]
        assert analyze_conversation.apply(kwargs=kwargs).get() == ConversationAnalysis.Status.DONE
        again = analyze_conversation.apply(kwargs=kwargs).get()  # a second delivery of the task does nothing

    assert pending == ConversationAnalysis.Status.PENDING
    schema_name = alpha.tenant.schema_name
    assert (name, kwargs, schema) == (analyze_conversation.name, {"conversation_id": conversation.pk}, schema_name)
    assert again is None and len(fake_llm.requests()) == 1
    webhooks = [t for t in queued_tasks if t.name == send_end_of_call_webhook.name]
    assert [(t.kwargs, t.schema) for t in webhooks] == [({"conversation_id": conversation.pk}, schema_name)]


def test_the_schema_lets_only_the_agents_categories_and_typed_custom_fields_through(alpha: TenantSetup) -> None:
    with tenant_context(alpha.tenant):
        config = agent_with_analysis(categories=[]).config()
    validator = Draft202012Validator(analysis.analysis_schema(config))  # as structured_reply checks the answer

    assert [error.path[0] for error in validator.iter_errors({**GOOD, "categories": ["billing"]})] == ["categories"]
    assert validator.is_valid({**GOOD, "categories": []})
    [extra] = validator.iter_errors({**GOOD, "categories": [], "mood": "bad"})
    assert "Additional properties" in extra.message


def test_a_task_runs_only_on_the_conversations_of_the_tenant_that_queued_it(
    alpha: TenantSetup, beta: TenantSetup, fake_llm: Any
) -> None:
    with tenant_context(alpha.tenant):
        conversation = finished_conversation(agent_with_analysis())
        analysis.analysis_pending(conversation=conversation)
    with tenant_context(beta.tenant):
        in_beta = analyze_conversation.apply(kwargs={"conversation_id": conversation.pk}).get()
        beta_has = ConversationAnalysis.objects.exists()
    with tenant_context(alpha.tenant):
        alphas = ConversationAnalysis.objects.get(conversation=conversation)

    assert in_beta is None and not beta_has
    assert alphas.status == ConversationAnalysis.Status.PENDING and fake_llm.requests() == []


def test_an_analysis_whose_worker_died_is_taken_again_but_never_one_still_running(
    alpha: TenantSetup, fake_llm: Any
) -> None:
    fake_llm.script(replies=[answer(rating=3)])
    with tenant_context(alpha.tenant):
        orphaned, running = (finished_conversation(agent_with_analysis(), call_sid=f"CA{digit * 32}") for digit in "56")
        for conversation in (orphaned, running):
            ConversationAnalysis.objects.create(conversation=conversation, status=ConversationAnalysis.Status.RUNNING)
        # The worker on `running` holds its lease; the one on `orphaned` was killed and its lease ran out.
        redis_client().set(analysis._lease_key(running.pk), "1", ex=60)
        taken_again = analysis.conversation_analyze(conversation_id=orphaned.pk)
        left_alone = analysis.conversation_analyze(conversation_id=running.pk)
        still = ConversationAnalysis.objects.get(conversation=running).status
        redis_client().delete(analysis._lease_key(running.pk))

    assert taken_again is not None and taken_again.status == ConversationAnalysis.Status.DONE
    assert left_alone is None and still == ConversationAnalysis.Status.RUNNING
    assert len(fake_llm.requests()) == 1


def test_a_delivery_turned_away_by_a_held_lease_comes_back_when_the_lease_runs_out(
    alpha: TenantSetup, fake_llm: Any, queued_tasks: list[QueuedTask]
) -> None:
    """The worker holding the lease may have died with it: the analysis must not stay running for ever."""
    with tenant_context(alpha.tenant):
        conversation = finished_conversation(agent_with_analysis())
        ConversationAnalysis.objects.create(conversation=conversation, status=ConversationAnalysis.Status.RUNNING)
        redis_client().set(analysis._lease_key(conversation.pk), "1", ex=60)
        turned_away = analyze_conversation.apply(kwargs={"conversation_id": conversation.pk}).get()
        redis_client().delete(analysis._lease_key(conversation.pk))
        ConversationAnalysis.objects.filter(conversation=conversation).update(status=ConversationAnalysis.Status.DONE)
        finished = analyze_conversation.apply(kwargs={"conversation_id": conversation.pk}).get()

    assert turned_away is None and finished is None and fake_llm.requests() == []
    [again] = queued_tasks  # once, for the running one; none for the finished one
    assert (again.name, again.kwargs, again.schema) == (
        analyze_conversation.name,
        {"conversation_id": conversation.pk},
        alpha.tenant.schema_name,
    )
    assert again.countdown is not None and 55 <= again.countdown <= 61


def test_the_beat_queues_again_analyses_left_unfinished_a_lease_after_the_call(
    alpha: TenantSetup, queued_tasks: list[QueuedTask]
) -> None:
    statuses = {"lost-pending": "pending", "lost-running": "running", "done": "done", "just-ended": "pending"}
    ids = {}
    with tenant_context(alpha.tenant):
        agent = agent_with_analysis()
        for number, (name, status) in enumerate(statuses.items()):
            conversation = finished_conversation(agent, call_sid=f"CA{number:032d}", started_minutes_ago=10)
            ended_ago = 0 if name == "just-ended" else 5
            conversation.ended_at = timezone.now() - timedelta(minutes=ended_ago)
            conversation.save(update_fields=["ended_at"])
            ConversationAnalysis.objects.create(conversation=conversation, status=status)
            ids[name] = conversation.pk

    assert resume_stale_analyses() == 2
    queued = {(task.name, task.kwargs["conversation_id"], task.schema) for task in queued_tasks}
    schema = alpha.tenant.schema_name
    assert queued == {(analyze_conversation.name, ids[name], schema) for name in ("lost-pending", "lost-running")}
