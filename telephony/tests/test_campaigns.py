import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from telephony import delivery, policies
from telephony.models import Communication, OptOut
from testsupport.tenants import TenantSetup

pytestmark = pytest.mark.django_db

URL = "/api/v1/campaigns/"


def create(setup: TenantSetup, **payload):
    body = {"name": "Spring sale", "channel": "sms", "body": "Hi, 20% off this week", **payload}
    return setup.client(setup.admin_key).post(URL, body, format="json")


def test_json_recipients_with_invalid_rows_reported(alpha_on_twilio: TenantSetup) -> None:
    response = create(
        alpha_on_twilio,
        recipients=[
            {"to": "+14155552671"},
            {"to": "not a number"},
            {"to": "+442071838750"},
            {"to": "+14155552671"},
            {"to": "+14155552672"},
        ],
    )

    body = response.json()
    assert response.status_code == 202
    assert body["progress"] == {
        "queued": 2,
        "sent": 0,
        "delivered": 0,
        "failed": 0,
        "canceled": 0,
        "total": 2,
        "invalid": 3,
    }
    assert [(row["row"], row["to"]) for row in body["invalid_rows"]] == [
        (2, "not a number"),
        (3, "+442071838750"),
        (4, "+14155552671"),
    ]
    assert "country GB" in body["invalid_rows"][1]["reason"] and "Duplicate" in body["invalid_rows"][2]["reason"]


def test_opted_out_recipients_are_reported_in_row_order_and_not_messaged(alpha_on_twilio: TenantSetup) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        OptOut.objects.bulk_create(
            OptOut(phone_number=number, source=OptOut.Source.STOP_REPLY) for number in ("+14155552672", "+14155552674")
        )
    recipients = [
        {"to": "+14155552671"},
        {"to": "+1 415 555 2672"},
        {"to": "bad"},
        {"to": "+14155552674"},
        {"to": "+14155552675"},
    ]

    body = create(alpha_on_twilio, recipients=recipients).json()

    assert [row["row"] for row in body["invalid_rows"]] == [2, 3, 4]
    assert "+14155552672 has opted out" in body["invalid_rows"][0]["reason"]
    assert "+14155552674 has opted out" in body["invalid_rows"][2]["reason"]
    with tenant_context(alpha_on_twilio.tenant):
        assert sorted(Communication.objects.filter(campaign_id=body["id"]).values_list("to_number", flat=True)) == [
            "+14155552671",
            "+14155552675",
        ]


def test_a_call_campaign_ignores_sms_opt_outs(alpha_on_twilio: TenantSetup) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        OptOut.objects.create(phone_number="+14155552672", source=OptOut.Source.STOP_REPLY)

    body = create(
        alpha_on_twilio, channel="call", body="Your order is ready.", recipients=[{"to": "+14155552672"}]
    ).json()

    assert body["progress"]["total"] == 1 and body["invalid_rows"] == []


def test_csv_upload_with_per_row_variables(alpha_on_twilio: TenantSetup) -> None:
    client = alpha_on_twilio.client(alpha_on_twilio.admin_key)
    template_id = client.post(
        "/api/v1/voice-messages/", {"name": "Due", "template_text": "Hi {first}, you owe {amount}."}, format="json"
    ).json()["id"]
    csv_file = SimpleUploadedFile(
        "list.csv", b"to,first,amount\n+14155552671,Ann,$5\n+14155552672,Bob,\n+14155552673,Cy,$7\n"
    )

    response = client.post(
        URL, {"name": "Dues", "channel": "sms", "voice_message_id": template_id, "file": csv_file}, format="multipart"
    )

    body = response.json()
    assert response.status_code == 202, body
    assert body["progress"]["total"] == 2
    assert body["invalid_rows"][0]["row"] == 3 and "amount" in body["invalid_rows"][0]["reason"]
    with tenant_context(alpha_on_twilio.tenant):
        assert sorted(Communication.objects.filter(campaign_id=body["id"]).values_list("content", flat=True)) == [
            "Hi Ann, you owe $5.",
            "Hi Cy, you owe $7.",
        ]


def test_csv_without_a_to_column_is_refused(alpha_on_twilio: TenantSetup) -> None:
    client = alpha_on_twilio.client(alpha_on_twilio.admin_key)
    response = client.post(
        URL,
        {"name": "x", "body": "hi", "file": SimpleUploadedFile("l.csv", b"phone\n+14155552671\n")},
        format="multipart",
    )
    assert response.status_code == 400 and "'to' column" in response.json()["errors"]["file"][0]


def test_progress_pause_resume_and_cancel(alpha_on_twilio: TenantSetup, monkeypatch) -> None:
    monkeypatch.setattr(delivery, "take_slot", lambda **_: 0.0)
    client = alpha_on_twilio.client(alpha_on_twilio.admin_key)
    campaign = create(alpha_on_twilio, recipients=[{"to": f"+1415555{n:04d}"} for n in range(2100, 2104)]).json()
    with tenant_context(alpha_on_twilio.tenant):
        first, second, third, fourth = Communication.objects.filter(campaign_id=campaign["id"]).order_by("id")
        delivery.deliver(communication_id=first.pk)

        paused = client.post(f"{URL}{campaign['id']}/pause/").json()
        assert delivery.deliver(communication_id=second.pk).done  # a paused campaign's items wait
        assert Communication.objects.get(pk=second.pk).status == "pending"

        resumed = client.post(f"{URL}{campaign['id']}/resume/").json()
        delivery.deliver(communication_id=second.pk)
        canceled = client.post(f"{URL}{campaign['id']}/cancel/").json()

    assert paused["status"] == "paused" and resumed["status"] == "running"
    progress = client.get(f"{URL}{campaign['id']}/").json()["progress"]
    assert progress["canceled"] == 2 and progress["queued"] + progress["sent"] + progress["delivered"] == 2
    assert canceled["status"] == "canceled"
    assert client.post(f"{URL}{campaign['id']}/resume/").status_code == 409


def test_campaigns_are_per_tenant(alpha_on_twilio: TenantSetup, beta: TenantSetup) -> None:
    campaign_id = create(alpha_on_twilio, recipients=[{"to": "+14155552671"}]).json()["id"]
    assert beta.client(beta.admin_key).get(f"{URL}{campaign_id}/").status_code == 404
    assert beta.client(beta.admin_key).post(f"{URL}{campaign_id}/cancel/").status_code == 404


def test_a_call_campaign_whose_text_does_not_parse_is_refused_whole(alpha_on_twilio: TenantSetup) -> None:
    response = create(
        alpha_on_twilio, channel="call", body="Total {amount}~SSML~money", recipients=[{"to": "+14155552671"}]
    )

    assert response.status_code == 400 and "Unknown SSML type 'money'" in response.json()["errors"]["body"][0]
    with tenant_context(alpha_on_twilio.tenant):
        assert not Communication.objects.exists()


def test_opt_outs_are_read_a_chunk_at_a_time(
    alpha_on_twilio: TenantSetup, monkeypatch, django_assert_num_queries
) -> None:
    monkeypatch.setattr(policies, "OPT_OUT_CHUNK", 2)
    numbers = [f"+1415555{n:04d}" for n in range(2600, 2605)]
    with tenant_context(alpha_on_twilio.tenant):
        OptOut.objects.bulk_create(
            OptOut(phone_number=number, source=OptOut.Source.STOP_REPLY) for number in numbers[::2]
        )
        with django_assert_num_queries(3):
            found = policies.opted_out_among(numbers=numbers)

    assert found == set(numbers[::2])
