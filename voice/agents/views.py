"""Portal pages for AI agents: the list, create and edit (each save a new version), versions, provider keys."""

from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST

from config.errors import DomainError
from tenants.accounts.roles import Role
from tenants.views import portal_access, portal_redirect, portal_user
from voice.agents import selectors, services
from voice.agents.forms import AgentForm, ProviderCredentialForm
from voice.agents.models import Agent, ProviderCredential


def _who(request: HttpRequest) -> str:
    return str(portal_user(request).email)


@portal_access()
def agent_list(request: HttpRequest) -> HttpResponse:
    agents = selectors.agent_list().prefetch_related("numbers")
    context = {"agents": agents, "can_manage": portal_user(request).has_role(Role.ADMIN)}
    return render(request, "agents/agent_list.html", context)


@portal_access(Role.ADMIN)
def agent_edit(request: HttpRequest, agent_id: int | None = None) -> HttpResponse:
    agent = get_object_or_404(Agent, pk=agent_id) if agent_id else None
    form = AgentForm(request.POST or None, instance=agent)
    if request.method == "POST" and form.is_valid():
        try:
            if agent is None:
                saved = services.agent_create(fields=form.config_fields(), created_by=_who(request))
            else:
                saved = services.agent_update(agent=agent, fields=form.config_fields(), created_by=_who(request))
        except ValidationError as error:  # a key deleted in the meantime, say: shown like the form's own errors
            for field, messages in error.message_dict.items():
                form.add_error(field if field in form.fields else None, messages)
        else:
            flash.success(request, f"Agent “{saved.name}” saved as version {saved.version}.")
            return portal_redirect(request, "agent-list")
    return render(request, "agents/agent_form.html", {"form": form, "agent": agent}, status=400 if form.errors else 200)


@require_POST
@portal_access(Role.ADMIN)
def agent_delete(request: HttpRequest, agent_id: int) -> HttpResponse:
    agent = get_object_or_404(Agent, pk=agent_id)
    services.agent_delete(agent=agent)
    flash.success(request, f"Agent “{agent.name}” deleted; its numbers are answered by the default agent.")
    return portal_redirect(request, "agent-list")


@require_POST
@portal_access(Role.ADMIN)
def agent_make_default(request: HttpRequest, agent_id: int) -> HttpResponse:
    agent = get_object_or_404(Agent, pk=agent_id)
    try:
        services.agent_make_default(agent=agent)
    except DomainError as refusal:
        flash.error(request, refusal.message)
    else:
        flash.success(request, f"“{agent.name}” now answers the numbers that name no agent.")
    return portal_redirect(request, "agent-list")


@portal_access()
def agent_versions(request: HttpRequest, agent_id: int) -> HttpResponse:
    agent = get_object_or_404(Agent, pk=agent_id)
    versions = list(selectors.agent_version_list(agent=agent)[:100])
    chosen = versions[0] if versions else None
    if request.GET.get("number", "").isdigit():
        chosen = next((version for version in versions if version.number == int(request.GET["number"])), chosen)
    context = {"agent": agent, "versions": versions, "chosen": chosen}
    return render(request, "agents/agent_versions.html", context)


@portal_access(Role.ADMIN)
def provider_key_list(request: HttpRequest) -> HttpResponse:
    form = ProviderCredentialForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in ProviderCredentialForm.Meta.fields}
        try:
            credential = services.provider_credential_save(**fields)
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                form.add_error(field if field in form.fields else None, messages)
        else:
            flash.success(request, f"{credential.get_provider_display()} key ...{credential.last4} saved.")
            return portal_redirect(request, "provider-key-list")
    context = {"form": form, "credentials": selectors.provider_credential_list()}
    return render(request, "agents/provider_keys.html", context, status=400 if form.errors else 200)


@require_POST
@portal_access(Role.ADMIN)
def provider_key_delete(request: HttpRequest, provider: str) -> HttpResponse:
    credential = get_object_or_404(ProviderCredential, provider=provider)
    try:
        services.provider_credential_delete(credential=credential)
    except DomainError as refusal:
        flash.error(request, refusal.message)
    else:
        flash.success(request, f"{credential.get_provider_display()} key deleted.")
    return portal_redirect(request, "provider-key-list")
