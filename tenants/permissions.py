from typing import TYPE_CHECKING

from rest_framework.permissions import SAFE_METHODS, BasePermission

from tenants.accounts.roles import Role

if TYPE_CHECKING:  # importing these at run time is circular: DRF loads this module from its settings
    from rest_framework.request import Request
    from rest_framework.views import APIView


class RolePermission(BasePermission):
    """Reads need `view.read_role` (viewer by default), writes `view.write_role` (operator by default)."""

    message = "Your role does not allow this action."

    def has_permission(self, request: "Request", view: "APIView") -> bool:
        user = request.user
        if user is None or not user.is_authenticated or not hasattr(user, "has_role"):
            return False
        if request.method in SAFE_METHODS:
            needed = getattr(view, "read_role", Role.VIEWER)
        else:
            needed = getattr(view, "write_role", Role.OPERATOR)
        return user.has_role(needed)
