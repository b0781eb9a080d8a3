"""Magic phone numbers: inputs with a fixed, documented outcome.

Where Twilio's test credentials define a magic number the sandbox does the same thing with the same
error code (https://www.twilio.com/docs/iam/test-credentials). The rest are sandbox inventions in
Twilio's own +1 500 555 range, for outcomes that happen *after* creation (delivery failures, busy
calls), which test credentials cannot show because they never send status callbacks.

Rejected at creation (HTTP 400, nothing is stored, ``TwilioRestException.code`` is the code):

=========================  ==============  =========  ====================================================
Number                     Parameter       Code       Meaning
=========================  ==============  =========  ====================================================
Messages (POST /Messages.json)
----------------------------------------------------------------------------------------------------------
+15005550001               From            21212      invalid From number
+15005550007               From            21606      From is not an SMS-capable number of this account
+15005550008               From            21611      From has too many queued messages (queue full)
+15005550001               To              21211      invalid To number
+15005550002               To              21612      cannot route to this number
+15005550003               To              21408      no permission for this region (geo permissions)
+15005550004               To              21610      recipient unsubscribed (replied STOP) / blocked
+15005550009               To              21614      To is not a mobile number (cannot receive SMS)
Calls (POST /Calls.json) -- Twilio's test-credentials table uses voice-specific codes
----------------------------------------------------------------------------------------------------------
+15005550001               From            21212      invalid From (caller ID) number
+15005550007               From            21210      From is not verified / not owned by this account
+15005550001               To              21217      To does not appear to be a valid number
+15005550002               To              21214      To cannot be reached
+15005550003               To              21215      no permission to call this region (geo permissions)
+15005550004               To              21216      To is blocked for this account
Buying numbers (POST /IncomingPhoneNumbers.json)
----------------------------------------------------------------------------------------------------------
+15005550000               PhoneNumber     21422      number not available
+15005550001               PhoneNumber     21421      invalid number
533                        AreaCode        21452      no numbers available in this area code
                                                      (AvailablePhoneNumbers?AreaCode=533 is empty too)
=========================  ==============  =========  ====================================================

Any other syntactically valid number passes (e.g. Twilio's +15005550006). Malformed numbers give
21211 (To) / 21212 (From) for both messages and calls.

Accepted, then a fixed outcome (sandbox inventions; the last four digits mirror the error code):

=========================  ===========================================================================
To number                  Outcome
=========================  ===========================================================================
Messages
-------------------------------------------------------------------------------------------------------
+15005553000               queued -> sending -> sent, then stays "sent" (carrier never confirms)
+15005553003               ... sent -> undelivered, error_code 30003 (unreachable destination handset)
+15005553004               ... sent -> undelivered, error_code 30004 (message blocked)
+15005553005               ... sent -> undelivered, error_code 30005 (unknown destination handset)
+15005553006               ... sent -> undelivered, error_code 30006 (landline or unreachable carrier)
+15005553007               ... sent -> undelivered, error_code 30007 (message filtered / carrier violation)
+15005553008               queued -> failed, error_code 30008 (unknown error; never sent)
Calls (the last three digits are the SIP response)
-------------------------------------------------------------------------------------------------------
+15005550486               initiated -> ringing -> busy (SipResponseCode 486)
+15005550480               initiated -> ringing -> no-answer (SipResponseCode 480)
+15005550500               initiated -> failed (SipResponseCode 500; no ringing, no TwiML fetch)
+15005550777               answered by a machine: answered_by machine_start (MachineDetection=Enable)
                           or machine_end_beep (DetectMessageEnd); human for everyone else
=========================  ===========================================================================
"""

from __future__ import annotations

from dataclasses import dataclass

MESSAGE_FROM_REJECTS: dict[str, tuple[int, str]] = {
    "+15005550001": (
        21212,
        "The 'From' number +15005550001 is not a valid phone number, shortcode, or alphanumeric sender ID.",
    ),
    "+15005550007": (
        21606,
        "The From phone number +15005550007 is not a valid, SMS-capable inbound phone number or short code for your account.",
    ),
    "+15005550008": (21611, "This 'From' number has exceeded the maximum number of queued messages"),
}
MESSAGE_TO_REJECTS: dict[str, tuple[int, str]] = {
    "+15005550001": (21211, "The 'To' number +15005550001 is not a valid phone number."),
    "+15005550002": (
        21612,
        "The 'To' phone number: +15005550002, is not currently reachable using the 'From' phone number via SMS.",
    ),
    "+15005550003": (
        21408,
        "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: +15005550003.",
    ),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "'To' number is not a valid mobile number"),
}
CALL_FROM_REJECTS: dict[str, tuple[int, str]] = {
    "+15005550001": (21212, "The 'From' number +15005550001 is not a valid phone number."),
    "+15005550007": (21210, "The source phone number provided, +15005550007, is not yet verified for your account."),
}
CALL_TO_REJECTS: dict[str, tuple[int, str]] = {
    "+15005550001": (21217, "Phone number +15005550001 does not appear to be valid"),
    "+15005550002": (21214, "'To' phone number +15005550002 cannot be reached"),
    "+15005550003": (
        21215,
        "Account not authorized to call +15005550003. Perhaps you need to enable some international permissions.",
    ),
    "+15005550004": (21216, "Call to +15005550004 is blocked for this account"),
}
PURCHASE_REJECTS: dict[str, tuple[int, str]] = {
    "+15005550000": (21422, "PhoneNumber +15005550000 is not available"),
    "+15005550001": (21421, "PhoneNumber +15005550001 is invalid"),
}


@dataclass(frozen=True, slots=True)
class MessageOutcome:
    final_status: str  # delivered | undelivered | failed | sent (stays sent)
    error_code: int | None = None
    error_message: str | None = None


DELIVERED = MessageOutcome("delivered")
MESSAGE_OUTCOMES: dict[str, MessageOutcome] = {
    "+15005553000": MessageOutcome("sent"),
    "+15005553003": MessageOutcome("undelivered", 30003, "Unreachable destination handset"),
    "+15005553004": MessageOutcome("undelivered", 30004, "Message blocked"),
    "+15005553005": MessageOutcome("undelivered", 30005, "Unknown destination handset"),
    "+15005553006": MessageOutcome("undelivered", 30006, "Landline or unreachable carrier"),
    "+15005553007": MessageOutcome("undelivered", 30007, "Message filtered"),
    "+15005553008": MessageOutcome("failed", 30008, "Unknown error"),
}

# Call outcome names: answer | busy | no-answer | failed | machine
CALL_OUTCOMES: dict[str, str] = {
    "+15005550486": "busy",
    "+15005550480": "no-answer",
    "+15005550500": "failed",
    "+15005550777": "machine",
}
SIP_RESPONSE = {"completed": 200, "busy": 486, "no-answer": 480, "failed": 500, "canceled": 487}
