import pytest
from django.conf import settings
from rest_framework.test import APIClient

from testsupport.tenants import TenantSetup

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "host_of", [lambda alpha: settings.BASE_DOMAIN, lambda alpha: alpha.host], ids=["public", "tenant"]
)
def test_liveness_and_readiness_on_every_host(alpha: TenantSetup, host_of) -> None:
    client = APIClient(HTTP_HOST=host_of(alpha))

    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"postgres": "ok", "redis": "ok"}


def test_readiness_fails_when_redis_is_unreachable(alpha: TenantSetup, settings) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    response = APIClient(HTTP_HOST=alpha.host).get("/readyz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"postgres": "ok", "redis": "failed"}}
