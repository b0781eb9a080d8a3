"""The public host's routes (config.urls_public) plus the bare view of bench/urls_inbound.py."""

from django.urls import path
from django.utils.module_loading import import_string

from config import urls_public

# By name, as Django loads URLconfs (bench/ is no package to the type checker: its scripts import it as top-level).
BARE_PATH: str = import_string("bench.urls_inbound.BARE_PATH")

urlpatterns = [
    path(BARE_PATH.lstrip("/"), import_string("bench.urls_inbound.bare_twiml"), name="bench-bare"),
    *urls_public.urlpatterns,
]

handler404 = urls_public.handler404
handler500 = urls_public.handler500
