from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    """Appointments and their notifications (confirmation, reminders, staff, replies), in each tenant's schema."""

    name = "telephony.appointments"
    label = "appointments"
    verbose_name = "Appointments"
