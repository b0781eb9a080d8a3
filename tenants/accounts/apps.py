from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Users. In the public schema: platform staff. In each tenant schema: that tenant's own users."""

    name = "tenants.accounts"
    label = "accounts"
    verbose_name = "Users"
