"""What the messages about an appointment say: the tenant's templates, in the platform's template language
(voice.templating: `{name}` is a value), filled with the appointment's variables."""

from collections.abc import Mapping

from telephony.appointments import clock
from telephony.appointments.models import Appointment
from telephony.sms import MAX_SMS_BODY
from voice import templating

VARIABLES = ("customer_name", "service", "staff_name", "date", "time", "tenant_name")
# What {staff_name} says for an appointment with no one named.
NO_STAFF_NAME = "our team"
# A template leaves room for its values within one SMS body.
MAX_TEMPLATE_LENGTH = 1000


def variables_of(appointment: Appointment, *, tenant_name: str) -> dict[str, str]:
    """{date} and {time} are written in the appointment's own time zone."""
    return {
        "customer_name": appointment.customer_name,
        "service": appointment.service,
        "staff_name": appointment.staff.name if appointment.staff else NO_STAFF_NAME,
        "date": clock.date_text(appointment.starts_at, appointment.time_zone),
        "time": clock.time_text(appointment.starts_at, appointment.time_zone),
        "tenant_name": tenant_name,
    }


def template_problems(template: str) -> list[str]:
    """Why a template cannot be used (empty when it can): bad syntax, or a name that is none of VARIABLES.
    A say-as marker ({date}~SSML~date) is read as the plain value, as in any SMS; a voice file cannot be sent."""
    if not template.strip():
        return ["The template is empty."]
    if len(template) > MAX_TEMPLATE_LENGTH:
        return [f"At most {MAX_TEMPLATE_LENGTH} characters."]
    try:
        parts = templating.parse(template)
    except templating.TemplateSyntaxError as error:
        return [str(error)]
    problems = []
    for part in parts:
        if isinstance(part, templating.Audio):
            problems.append(f"{{MP3~{part.name}}} plays a voice file; an SMS cannot.")
        elif isinstance(part, templating.Variable) and part.name not in VARIABLES:
            problems.append(f"{{{part.name}}} is not one of " + ", ".join(f"{{{v}}}" for v in VARIABLES) + ".")
    return problems


def rendered(template: str, variables: Mapping[str, str]) -> str:
    """The template with its values filled in, cut to what one SMS body may hold."""
    return templating.render_text(template, variables)[:MAX_SMS_BODY]


def offset_text(minutes: int) -> str:
    """1440 -> '1 d', 120 -> '2 h', 90 -> '90 min'."""
    if minutes % 1440 == 0:
        return f"{minutes // 1440} d"
    if minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes} min"


def staff_booking_text(appointment: Appointment, variables: Mapping[str, str]) -> str:
    return (
        f"New appointment: {appointment.customer_name} ({appointment.phone_number}), {variables['service']}, "
        f"{variables['date']} at {variables['time']}."
    )


def staff_reply_text(appointment: Appointment, variables: Mapping[str, str], *, reply: str, status_label: str) -> str:
    return (
        f"{appointment.customer_name} ({appointment.phone_number}) replied \u201c{reply}\u201d about "
        f"{variables['service']} on {variables['date']} at {variables['time']}: {status_label.lower()}."
    )


def reply_ack_text(variables: Mapping[str, str], *, confirmed: bool) -> str:
    if confirmed:
        return f"Thanks, your appointment on {variables['date']} at {variables['time']} is confirmed."
    return (
        f"Thanks, we have noted that you would like to reschedule your appointment on {variables['date']} at "
        f"{variables['time']}. We will be in touch."
    )
