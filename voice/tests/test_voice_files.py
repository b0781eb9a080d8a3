import io
import wave
from pathlib import Path
from typing import cast

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import FileResponse
from django_tenants.utils import tenant_context
from rest_framework.test import APIClient

from tenants.db import connection
from testsupport.tenants import TenantSetup
from voice.models import VoiceFile

pytestmark = pytest.mark.django_db

URL = "/api/v1/voice-files/"
FIXTURES = Path(__file__).parent / "fixtures"  # tone.mp3 / tone.m4a: 1.5 s of 440 Hz made with ffmpeg


def wav_bytes(seconds: float = 1.0, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x01" * int(seconds * rate))
    return buffer.getvalue()


def upload(client: APIClient, filename: str, content: bytes, **fields: str | list[str]):
    return client.post(URL, {"file": SimpleUploadedFile(filename, content), "name": filename.split(".")[0], **fields})


@pytest.mark.parametrize(
    ("filename", "content", "kind", "duration"),
    [
        ("welcome.wav", wav_bytes(2.0), "wav", 2.0),
        ("chime.mp3", (FIXTURES / "tone.mp3").read_bytes(), "mp3", 1.6),
        ("jingle.m4a", (FIXTURES / "tone.m4a").read_bytes(), "m4a", 1.6),
        ("menu.xml", b'<?xml version="1.0"?><Response><Say>Press 1</Say></Response>', "xml", None),
    ],
)
def test_upload_detects_kind_and_duration(
    alpha: TenantSetup, filename: str, content: bytes, kind: str, duration
) -> None:
    response = upload(
        alpha.client(alpha.admin_key), filename, content, description="d", caller_number="+1 (415) 555-2671"
    )

    body = response.json()
    assert response.status_code == 201, body
    assert (body["kind"], body["size_bytes"], body["caller_number"]) == (kind, len(content), "+14155552671")
    assert (
        body["duration_seconds"] == pytest.approx(duration, abs=0.1) if duration else body["duration_seconds"] is None
    )


def test_type_is_decided_by_content_not_extension(alpha: TenantSetup) -> None:
    client = alpha.client(alpha.admin_key)

    disguised = upload(client, "real-wav.mp3", wav_bytes())
    fake = upload(client, "fake.mp3", b"ID3" + b"\x00" * 400)
    text = upload(client, "notes.wav", b"just some text")

    assert disguised.status_code == 201 and disguised.json()["kind"] == "wav"
    assert fake.status_code == 422 and "file" in fake.json()["errors"]
    assert text.status_code == 422 and "Unsupported file" in text.json()["errors"]["file"][0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<Response><Say>unclosed</Response>", "not well-formed"),
        (b"<html><body>hi</body></html>", "<Response> as its root"),
        (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e "boom">]><Response>&e;</Response>', "DTDs or entities"),
    ],
)
def test_xml_is_parsed_safely_and_must_be_twiml(alpha: TenantSetup, content: bytes, message: str) -> None:
    response = upload(alpha.client(alpha.admin_key), "doc.xml", content)
    assert response.status_code == 422
    assert message in response.json()["errors"]["file"][0]


def test_size_limit_gives_413(alpha: TenantSetup, settings) -> None:
    settings.VOICE_FILE_MAX_BYTES = 1000
    response = upload(alpha.client(alpha.admin_key), "big.wav", wav_bytes(1.0))
    assert response.status_code == 413
    assert "limit is 1000 bytes" in response.json()["detail"]


def test_bad_caller_number_and_duplicate_name(alpha: TenantSetup) -> None:
    client = alpha.client(alpha.admin_key)
    bad_number = upload(client, "a.wav", wav_bytes(), caller_number="12345")
    upload(client, "b.wav", wav_bytes())
    duplicate = upload(client, "b.wav", wav_bytes())

    assert bad_number.status_code == 400 and "caller_number" in bad_number.json()["errors"]
    assert duplicate.status_code == 400 and "name" in duplicate.json()["errors"]


def test_files_are_stored_per_tenant_and_served_by_unguessable_url(
    alpha: TenantSetup, beta: TenantSetup, settings
) -> None:
    content = wav_bytes()
    body = upload(alpha.client(alpha.admin_key), "hello.wav", content).json()
    token = body["url"].rstrip("/").rsplit("/", 1)[1]

    with tenant_context(alpha.tenant):
        stored = Path(VoiceFile.objects.get(pk=body["id"]).file.path)
    connection.set_schema_to_public()
    assert stored.is_relative_to(Path(settings.MEDIA_ROOT) / "t_alpha")
    assert len(token) >= 32
    assert body["url"].startswith("http://alpha.localhost:8000/voice-files/")

    served = APIClient(HTTP_HOST=alpha.host).get(f"/voice-files/{token}/")
    # DRF's stubs type every test-client response as a DRF Response; this view answers with a FileResponse.
    streamed = cast(FileResponse, served)
    assert served.status_code == 200 and streamed.getvalue() == content  # getvalue(): the streamed bytes joined
    assert served["Content-Type"] == "audio/wav"
    assert APIClient(HTTP_HOST=beta.host).get(f"/voice-files/{token}/").status_code == 404
    assert APIClient(HTTP_HOST=alpha.host).get("/voice-files/guess/").status_code == 404


def test_list_filter_update_and_delete(alpha: TenantSetup, beta: TenantSetup) -> None:
    client = alpha.client(alpha.admin_key)
    first = upload(client, "one.wav", wav_bytes(), tags=["promo", "spring"]).json()
    upload(client, "two.xml", b"<Response/>")

    assert [f["name"] for f in client.get(URL, {"kind": "wav"}).json()["results"]] == ["one"]
    assert [f["name"] for f in client.get(URL, {"tag": "promo"}).json()["results"]] == ["one"]
    updated = client.patch(f"{URL}{first['id']}/", {"description": "Spring promo", "tags": ["promo"]}, format="json")
    assert updated.json()["description"] == "Spring promo" and updated.json()["tags"] == ["promo"]
    assert beta.client(beta.admin_key).get(f"{URL}{first['id']}/").status_code == 404

    assert client.delete(f"{URL}{first['id']}/").status_code == 204
    assert client.get(f"{URL}{first['id']}/").status_code == 404


def test_audio_placeholder_plays_the_tenants_file(alpha: TenantSetup) -> None:
    client = alpha.client(alpha.admin_key)
    file_url = upload(client, "welcome.wav", wav_bytes()).json()["url"]
    message_id = client.post(
        "/api/v1/voice-messages/", {"name": "M", "template_text": "Hello {MP3~welcome} bye"}, format="json"
    ).json()["id"]

    twiml = client.post(f"/api/v1/voice-messages/{message_id}/render/", {}, format="json").json()["twiml"]

    assert f"<Play>{file_url}</Play>" in twiml
