from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from voice.agents import api, views

router = SimpleRouter(trailing_slash=True)
router.register("agents", api.AgentViewSet, basename="agent")
router.register("provider-credentials", api.ProviderCredentialViewSet, basename="provider-credential")

api_urlpatterns: list[URLPattern | URLResolver] = [*router.urls]
portal_urlpatterns: list[URLPattern | URLResolver] = [
    path("agents/", views.agent_list, name="agent-list"),
    path("agents/new/", views.agent_edit, name="agent-new"),
    path("agents/<int:agent_id>/", views.agent_edit, name="agent-edit"),
    path("agents/<int:agent_id>/delete/", views.agent_delete, name="agent-delete"),
    path("agents/<int:agent_id>/make-default/", views.agent_make_default, name="agent-make-default"),
    path("agents/<int:agent_id>/versions/", views.agent_versions, name="agent-versions"),
    path("agents/provider-keys/", views.provider_key_list, name="provider-key-list"),
    path("agents/provider-keys/<str:provider>/delete/", views.provider_key_delete, name="provider-key-delete"),
]
webhook_urlpatterns: list[URLPattern | URLResolver] = []
