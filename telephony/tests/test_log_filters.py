"""The communication log's filters (telephony.filters), the same for the API and the portal."""

import re
from datetime import timedelta

import pytest
import yaml
from django.core.management import call_command
from django.utils import timezone

from telephony.statuses import Status
from telephony.tests.test_portal import logged
from testsupport.tenants import TenantSetup
from voice.tests.test_voice_portal import signed_in

pytestmark = pytest.mark.django_db

LOG = "/api/v1/communications/"


@pytest.fixture
def history(alpha: TenantSetup) -> TenantSetup:
    logged(alpha, "+14155550801", Status.DELIVERED)
    logged(alpha, "+14155550802", Status.FAILED, days_ago=2)
    logged(alpha, "+14155550803", Status.COMPLETED, days_ago=5, channel="call")
    return alpha


def listed(setup: TenantSetup, path: str = LOG, **query: str) -> list[str]:
    response = setup.client(setup.admin_key).get(path, query)
    assert response.status_code == 200, response.json()
    return [item["to"] for item in response.json()["results"]]


def test_api_filters_by_type_status_number_and_moment(history: TenantSetup) -> None:
    three_days_ago = (timezone.now() - timedelta(days=3)).isoformat()
    one_day_ago = (timezone.now() - timedelta(days=1)).isoformat()

    assert listed(history) == ["+14155550801", "+14155550802", "+14155550803"]
    assert listed(history, type="call") == ["+14155550803"]
    assert listed(history, status="failed") == ["+14155550802"]
    assert listed(history, number="+1 (415) 555-0802") == ["+14155550802"]  # any way of writing it
    assert listed(history, date_from=three_days_ago) == ["+14155550801", "+14155550802"]
    assert listed(history, date_from=three_days_ago, date_to=one_day_ago) == ["+14155550802"]
    # /messages/ is SMS by its path; a type there is not a filter.
    assert listed(history, "/api/v1/messages/", type="call") == ["+14155550801", "+14155550802"]


def test_api_refuses_a_bad_filter_naming_it(history: TenantSetup) -> None:
    response = history.client(history.admin_key).get(LOG, {"number": "nope", "date_from": "last week", "type": "fax"})

    body = response.json()
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    assert "not a phone number" in body["errors"]["number"][0]
    assert set(body["errors"]) == {"number", "date_from", "type"}


def test_portal_filters_with_the_same_fields_and_keeps_them_across_pages(history: TenantSetup) -> None:
    for n in range(60):
        logged(history, f"+1415555{n:04d}", Status.DELIVERED)
    browser = signed_in(history)
    three_days_ago = (timezone.localtime() - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")

    recent = browser.get("/communications/", {"date_from": three_days_ago, "status": "failed"}).content.decode()
    first_page = browser.get("/communications/", {"status": "delivered"}).content.decode()
    bad = browser.get("/communications/", {"number": "nope", "status": "failed"}).content.decode()

    assert "+14155550802" in recent and "+14155550803" not in recent and "+14155550801" not in recent
    assert 'type="datetime-local"' in recent and f'value="{three_days_ago}"' in recent
    assert re.search(r'href="\?status=delivered&amp;page=2"', first_page)
    # The bad number is reported and left out; the status filter still applies.
    assert "not a phone number" in bad and "+14155550802" in bad and "+14155550801" not in bad


def test_the_schema_documents_each_filter(tmp_path) -> None:
    call_command("spectacular", "--urlconf", "config.urls_tenants", "--file", str(tmp_path / "schema.yaml"))
    schema = yaml.safe_load((tmp_path / "schema.yaml").read_text())

    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/communications/"]["get"]["parameters"]}
    message_parameters = {p["name"] for p in schema["paths"]["/api/v1/messages/"]["get"]["parameters"]}

    assert {"type", "status", "direction", "number", "date_from", "date_to"} <= set(parameters)
    assert parameters["type"]["schema"]["enum"] == ["call", "sms"]
    assert parameters["date_from"]["schema"]["format"] == "date-time"
    assert "type" not in message_parameters and "number" in message_parameters


def test_filters_narrow_lists_only_not_one_record(history: TenantSetup) -> None:
    client = history.client(history.admin_key)
    sms_id = client.get(LOG, {"number": "+14155550801"}).json()["results"][0]["id"]

    # A client that keeps its list's query string on a detail link still gets the record.
    assert client.get(f"{LOG}{sms_id}/", {"status": "failed", "number": "nope"}).json()["to"] == "+14155550801"
    assert client.get(f"/api/v1/messages/{sms_id}/", {"status": "failed"}).status_code == 200
