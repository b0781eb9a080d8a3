"""Settings for the web server of bench/inbound_webhook.py: the platform's settings exactly, with URLconfs that add
one bare view (bench/urls_inbound.py) next to the real routes, so that both go through the same middleware."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls_inbound"
PUBLIC_SCHEMA_URLCONF = "bench.urls_inbound_public"
