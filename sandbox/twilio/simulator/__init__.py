"""The other side of the phone line: simulated callers and texters reaching the numbers accounts own.

Twilio's REST API covers what an application asks of Twilio; this package plays what the world does
to an application through Twilio: an inbound call that runs the number's VoiceUrl TwiML verb by
verb (POST /sandbox/inbound-calls), and an inbound SMS/MMS that runs its SmsUrl and sends the
<Message> replies (POST /sandbox/inbound-messages). Webhooks are signed with the owning account's
auth token and carry Twilio's parameters, so an application's webhook views can be tested end to end.

Module map: calls (inbound calls: the resource, the thread, the end), session (running documents,
simulated time, limits), verbs / speak / listen / dial (the TwiML verbs), recording (recordings,
their callbacks, transcriptions), wav (the recordings' audio), sms (inbound messages and replies),
hooks (signed webhooks, journaled), places (FromCity, ToZip, ...), script (the request JSON).
"""

from .calls import InboundCalls
from .script import Refused
from .sms import InboundMessages

__all__ = ["InboundCalls", "InboundMessages", "Refused"]
