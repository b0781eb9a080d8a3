"""Stripe's webhook, on the public host: verified (Stripe-Signature, STRIPE_WEBHOOK_TOLERANCE_SECONDS), kept once by
event id, processed by a worker. Answers fast: 200 once kept (a duplicate too, so Stripe stops resending it),
400 with nothing kept when the signature, its age or the body is wrong."""

import structlog
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing import tasks
from billing.events import EventRejected, event_receive
from config.rest import problem_response

logger = structlog.get_logger(__name__)


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    try:
        with transaction.atomic():
            event, created = event_receive(payload=request.body, signature=request.headers.get("Stripe-Signature"))
            if created:
                transaction.on_commit(lambda: tasks.queue_event(stripe_event_id=event.pk))
    except EventRejected as error:
        logger.warning("billing.webhook_rejected", reason=str(error))
        return problem_response(400, str(error), code="stripe-event-rejected")
    return JsonResponse({"received": True, "duplicate": not created})
