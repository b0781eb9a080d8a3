"""The opt-out list, through the API and the portal: added by hand and removed by hand; STOP stays STOP."""

import pytest
from django_tenants.utils import tenant_context

from telephony.models import OptOut
from tenants.accounts.roles import Role
from tenants.services import api_key_create, user_create
from testsupport.tenants import PASSWORD, TenantSetup
from voice.tests.test_voice_portal import signed_in

pytestmark = pytest.mark.django_db

URL = "/api/v1/opt-outs/"
NUMBER = "+14155552671"


def opted_out(setup: TenantSetup) -> dict[str, str]:
    with tenant_context(setup.tenant):
        return dict(OptOut.objects.values_list("phone_number", "source"))


def test_an_operator_adds_a_number_and_sends_to_it_are_refused(alpha_on_twilio: TenantSetup) -> None:
    _, operator_key = api_key_create(tenant=alpha_on_twilio.tenant, name="ops", role=Role.OPERATOR)
    client = alpha_on_twilio.client(operator_key)

    added = client.post(URL, {"phone_number": "+1 (415) 555-2671"}, format="json")
    again = client.post(URL, {"phone_number": NUMBER}, format="json")
    send = client.post("/api/v1/messages/", {"to": NUMBER, "body": "Hi"}, format="json")

    assert added.status_code == 201 and added.json()["phone_number"] == NUMBER and added.json()["source"] == "manual"
    assert again.json()["id"] == added.json()["id"]  # adding twice keeps one entry
    assert send.status_code == 422 and "opted out" in send.json()["errors"]["to"][0]
    assert client.get(URL).json()["results"] == [added.json()]


def test_only_numbers_added_by_hand_are_removed(alpha_on_twilio: TenantSetup) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        stop = OptOut.objects.create(phone_number="+14155552672", source=OptOut.Source.STOP_REPLY)
        manual = OptOut.objects.create(phone_number=NUMBER, source=OptOut.Source.MANUAL)
    client = alpha_on_twilio.client(alpha_on_twilio.admin_key)

    refused = client.delete(f"{URL}{stop.pk}/")
    removed = client.delete(f"{URL}{manual.pk}/")

    assert refused.status_code == 409 and "texting START" in refused.json()["detail"]
    assert removed.status_code == 204
    assert opted_out(alpha_on_twilio) == {"+14155552672": OptOut.Source.STOP_REPLY}


def test_bad_numbers_and_roles(alpha_on_twilio: TenantSetup) -> None:
    _, viewer_key = api_key_create(tenant=alpha_on_twilio.tenant, name="look", role=Role.VIEWER)
    viewer = alpha_on_twilio.client(viewer_key)

    bad = alpha_on_twilio.client(alpha_on_twilio.admin_key).post(URL, {"phone_number": "12"}, format="json")

    assert bad.status_code == 400 and "not a phone number" in bad.json()["errors"]["phone_number"][0]
    assert viewer.get(URL).status_code == 200
    assert viewer.post(URL, {"phone_number": NUMBER}, format="json").status_code == 403
    assert opted_out(alpha_on_twilio) == {}


def test_the_portal_page_adds_and_removes_by_hand(alpha_on_twilio: TenantSetup) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        OptOut.objects.create(phone_number="+14155552672", source=OptOut.Source.STOP_REPLY)
    browser = signed_in(alpha_on_twilio)

    added = browser.post("/opt-outs/add/", {"phone_number": "+1 415 555 2671"}, follow=True).content.decode()
    bad = browser.post("/opt-outs/add/", {"phone_number": "nope"}, follow=True).content.decode()
    with tenant_context(alpha_on_twilio.tenant):
        manual = OptOut.objects.get(phone_number=NUMBER)
    removed = browser.post(f"/opt-outs/{manual.pk}/remove/", follow=True).content.decode()

    assert "+14155552671 gets no more SMS" in added and added.count(">Remove</button>") == 1  # not for the STOP one
    assert "Not added:" in bad and "not a phone number" in bad
    assert "+14155552671 can be sent SMS again." in removed
    assert opted_out(alpha_on_twilio) == {"+14155552672": OptOut.Source.STOP_REPLY}


def test_viewers_see_the_list_but_do_not_change_it(alpha_on_twilio: TenantSetup) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        user_create(tenant=alpha_on_twilio.tenant, email="look@alpha.test", role=Role.VIEWER, password=PASSWORD)
        manual = OptOut.objects.create(phone_number=NUMBER, source=OptOut.Source.MANUAL)
    viewer = signed_in(alpha_on_twilio, "look@alpha.test")

    page = viewer.get("/opt-outs/").content.decode()

    assert NUMBER in page and ">Add</button>" not in page and ">Remove</button>" not in page
    assert viewer.post("/opt-outs/add/", {"phone_number": "+14155552672"}).status_code == 403
    assert viewer.post(f"/opt-outs/{manual.pk}/remove/").status_code == 403
    assert opted_out(alpha_on_twilio) == {NUMBER: OptOut.Source.MANUAL}


def test_another_tenants_opt_outs_are_out_of_reach(alpha_on_twilio: TenantSetup, beta: TenantSetup) -> None:
    with tenant_context(alpha_on_twilio.tenant):
        manual = OptOut.objects.create(phone_number=NUMBER, source=OptOut.Source.MANUAL)
    beta_client = beta.client(beta.admin_key)

    assert beta_client.get(URL).json()["results"] == []
    assert beta_client.delete(f"{URL}{manual.pk}/").status_code == 404
    assert signed_in(beta).post(f"/opt-outs/{manual.pk}/remove/").status_code == 404
    assert NUMBER not in signed_in(beta).get("/opt-outs/").content.decode()
    assert opted_out(alpha_on_twilio) == {NUMBER: OptOut.Source.MANUAL}
