"""API conventions every app follows: page-number pagination and one problem+json error shape."""

import logging
from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, pagination
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler

from config.errors import DomainError

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
FIELD_ERROR_SUMMARIES = {
    400: "The request has invalid fields.",
    422: "The request is valid but cannot be carried out as it stands.",
}


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 25
    page_size_query_param = "per_page"
    max_page_size = 100

    def get_paginated_response(self, data: list[Any]) -> Response:
        page = self.page
        if page is None:
            raise RuntimeError("get_paginated_response runs only after paginate_queryset")
        return Response(
            {
                "results": data,
                "pagination": {
                    "page": page.number,
                    "per_page": page.paginator.per_page,
                    "total_items": page.paginator.count,
                    "total_pages": page.paginator.num_pages,
                    "has_next": page.has_next(),
                    "has_prev": page.has_previous(),
                },
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        integer = {"type": "integer"}
        return {
            "type": "object",
            "required": ["results", "pagination"],
            "properties": {
                "results": schema,
                "pagination": {
                    "type": "object",
                    "properties": {
                        "page": integer,
                        "per_page": integer,
                        "total_items": integer,
                        "total_pages": integer,
                        "has_next": {"type": "boolean"},
                        "has_prev": {"type": "boolean"},
                    },
                },
            },
        }


def problem(
    status: int, detail: str, *, code: str | None = None, errors: dict[str, Any] | None = None
) -> dict[str, Any]:
    title = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": f"urn:switchboard:problem:{code or title.lower().replace(' ', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return body


def problem_response(status: int, detail: str, **kwargs: Any) -> JsonResponse:
    """The problem shape for responses made outside DRF (middleware, Django's 404/500 handlers)."""
    return JsonResponse(problem(status, detail, **kwargs), status=status, content_type=PROBLEM_CONTENT_TYPE)


def _first_code(detail: Any) -> str | None:
    if isinstance(detail, exceptions.ErrorDetail):
        return detail.code
    if isinstance(detail, list) and detail:
        return _first_code(detail[0])
    return None


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        body = problem(exc.status, exc.message, code=exc.code, errors=exc.errors)
        return Response(body, status=exc.status, content_type=PROBLEM_CONTENT_TYPE)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled API error", exc_info=exc)
        return Response(
            problem(500, "An unexpected error occurred. It has been logged."),
            status=500,
            content_type=PROBLEM_CONTENT_TYPE,
        )

    if isinstance(exc, exceptions.APIException) and isinstance(exc.detail, (dict, list)):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        summary = FIELD_ERROR_SUMMARIES.get(response.status_code, "The request has invalid fields.")
        body = problem(response.status_code, summary, code="validation-error", errors=errors)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        body = problem(response.status_code, str(detail), code=_first_code(detail))
    response.data = body
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return problem_response(404, "No such resource.")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return problem_response(500, "An unexpected error occurred. It has been logged.")
    return defaults.server_error(request)
