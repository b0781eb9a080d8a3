from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from voice import selectors, services, templating
from voice.models import TwimlDocument, VoiceFile, VoiceMessage
from voice.serializers import (
    RenderRequestSerializer,
    RenderResponseSerializer,
    TwimlDocumentSerializer,
    VariablesSerializer,
    VoiceFileFilterSerializer,
    VoiceFileSerializer,
    VoiceFileUpdateSerializer,
    VoiceFileUploadSerializer,
    VoiceMessageFilterSerializer,
    VoiceMessageSerializer,
)


class UnprocessableEntity(exceptions.APIException):
    status_code = 422
    default_detail = "The request is well-formed but cannot be processed."
    default_code = "unprocessable"


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The upload is too large."
    default_code = "too_large"


def _validated(serializer_class: type, data: Any, **kwargs: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class VoiceMessageViewSet(viewsets.ModelViewSet):
    """Voice messages: templates with variables, SSML and audio that render to TwiML."""

    serializer_class = VoiceMessageSerializer

    def get_queryset(self) -> QuerySet[VoiceMessage]:
        if self.action == "list":
            filters = _validated(VoiceMessageFilterSerializer, self.request.query_params)
            return selectors.voice_message_list(
                message_type=filters.get("type"),
                is_active=filters["active"],
                search=filters.get("search"),
                deleted=filters["deleted"],
            )
        if self.action in ("restore", "destroy"):
            return VoiceMessage.objects.all()  # soft-deleted messages can be restored or purged
        return VoiceMessage.objects.alive()

    @extend_schema(
        parameters=[
            OpenApiParameter("type", enum=VoiceMessage.Type.values),
            OpenApiParameter("active", bool),
            OpenApiParameter("search", str, description="Matches name or template text."),
            OpenApiParameter("deleted", bool, description="List soft-deleted messages instead."),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def perform_create(self, serializer: BaseSerializer[VoiceMessage]) -> None:
        serializer.instance = services.voice_message_create(**serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer[VoiceMessage]) -> None:
        message = serializer.instance
        if message is None:  # UpdateModelMixin.update() always builds the serializer on the object it updates
            raise RuntimeError("perform_update needs the serializer of an existing voice message")
        serializer.instance = services.voice_message_update(message=message, **serializer.validated_data)

    @extend_schema(
        parameters=[OpenApiParameter("hard", bool, description="Delete for good instead of moving to the bin.")],
        responses={204: OpenApiResponse(description="Deleted.")},
    )
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        message = self.get_object()
        hard = request.query_params.get("hard", "").lower() in ("1", "true", "yes")
        if not hard and message.deleted_at is not None:
            raise exceptions.NotFound()
        services.voice_message_delete(message=message, hard=hard)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=VoiceMessageSerializer)
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: str) -> Response:
        message = self.get_object()
        if message.deleted_at is None:
            return Response(self.get_serializer(message).data)
        return Response(self.get_serializer(services.voice_message_restore(message=message)).data)

    @extend_schema(request=None, responses={201: VoiceMessageSerializer})
    @action(detail=True, methods=["post"])
    def duplicate(self, request: Request, pk: str) -> Response:
        copy = services.voice_message_duplicate(message=self.get_object())
        return Response(self.get_serializer(copy).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=RenderRequestSerializer,
        responses={200: RenderResponseSerializer, 422: OpenApiResponse(description="Missing values (strict mode).")},
    )
    @action(detail=True, methods=["post"])
    def render(self, request: Request, pk: str) -> Response:
        payload = _validated(RenderRequestSerializer, request.data)
        rendered = services.voice_message_render(
            message=self.get_object(), variables=payload["variables"], strict=payload["mode"] == "strict"
        )
        return Response(RenderResponseSerializer(rendered).data)

    @extend_schema(responses=VariablesSerializer)
    @action(detail=True, methods=["get"])
    def variables(self, request: Request, pk: str) -> Response:
        names, audio = templating.placeholders(self.get_object().template_text)
        return Response({"variables": names, "audio_files": audio})

    @extend_schema(request=RenderRequestSerializer, responses={201: TwimlDocumentSerializer})
    @action(detail=True, methods=["post"], url_path="twiml-documents")
    def twiml_documents(self, request: Request, pk: str) -> Response:
        payload = _validated(RenderRequestSerializer, request.data)
        document = services.twiml_document_create(
            message=self.get_object(), variables=payload["variables"], strict=payload["mode"] == "strict"
        )
        return Response(_document_data(document), status=status.HTTP_201_CREATED)


def _document_data(document: TwimlDocument) -> dict[str, Any]:
    return TwimlDocumentSerializer({**document.__dict__, "url": selectors.twiml_document_url(document)}).data


class VoiceFileViewSet(viewsets.ModelViewSet):
    """Uploaded audio (mp3, wav, m4a) and TwiML documents, served to Twilio by unguessable URL."""

    serializer_class = VoiceFileSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[VoiceFile]:
        if self.action == "list":
            filters = _validated(VoiceFileFilterSerializer, self.request.query_params)
            return selectors.voice_file_list(
                kind=filters.get("kind"), tag=filters.get("tag"), search=filters.get("search")
            )
        return VoiceFile.objects.all()

    @extend_schema(
        parameters=[
            OpenApiParameter("kind", enum=VoiceFile.Kind.values),
            OpenApiParameter("tag", str),
            OpenApiParameter("search", str),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request={"multipart/form-data": VoiceFileUploadSerializer}, responses={201: VoiceFileSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = _validated(VoiceFileUploadSerializer, request.data)
        upload = payload.pop("file")
        try:
            voice_file = services.voice_file_create(upload=upload, filename=upload.name, **payload)
        except services.FileTooLargeError as exc:
            raise PayloadTooLarge(exc.message_dict["file"][0]) from exc
        except services.FileContentError as exc:
            raise UnprocessableEntity(exc.message_dict) from exc
        return Response(VoiceFileSerializer(voice_file).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=VoiceFileUpdateSerializer, responses=VoiceFileSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = _validated(VoiceFileUpdateSerializer, request.data)
        voice_file = services.voice_file_update(voice_file=self.get_object(), **payload)
        return Response(VoiceFileSerializer(voice_file).data)

    def perform_destroy(self, instance: VoiceFile) -> None:
        services.voice_file_delete(voice_file=instance)
