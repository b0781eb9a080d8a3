from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from telephony.appointments import api, views

router = SimpleRouter(trailing_slash=True)
# Before the appointments: their ids are numbers, and these paths are not.
router.register("appointments/staff", api.StaffMemberViewSet, basename="appointment-staff")
router.register("appointments", api.AppointmentViewSet, basename="appointment")

api_urlpatterns = [
    path("appointments/settings/", api.AppointmentSettingsView.as_view(), name="appointment-settings"),
    *router.urls,
]

portal_urlpatterns = [
    path("appointments/", views.appointment_list, name="portal-appointment-list"),
    path("appointments/new/", views.appointment_new, name="portal-appointment-new"),
    path("appointments/import/", views.appointment_import, name="portal-appointment-import"),
    path("appointments/settings/", views.appointment_settings, name="portal-appointment-settings"),
    path("appointments/staff/add/", views.staff_add, name="portal-appointment-staff-add"),
    path("appointments/staff/<int:staff_id>/remove/", views.staff_remove, name="portal-appointment-staff-remove"),
    path("appointments/<int:appointment_id>/", views.appointment_detail, name="portal-appointment-detail"),
    re_path(
        r"^appointments/(?P<appointment_id>[0-9]+)/send/(?P<kind>confirmation|reminder)/$",
        views.appointment_send,
        name="portal-appointment-send",
    ),
    path("appointments/<int:appointment_id>/cancel/", views.appointment_cancel, name="portal-appointment-cancel"),
]
