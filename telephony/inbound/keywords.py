"""The words an SMS may consist of to opt out, opt back in, or ask for help: Twilio's Advanced Opt-Out
defaults. Only a message that is the word alone counts (case and surrounding spaces aside), so "stop by
at 5" is an ordinary message."""

import enum


class Keyword(enum.Enum):
    OPT_OUT = "opt-out"
    OPT_IN = "opt-in"
    HELP = "help"


WORDS = {
    **dict.fromkeys(("STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "CANCEL", "REVOKE", "OPTOUT"), Keyword.OPT_OUT),
    **dict.fromkeys(("START", "YES", "UNSTOP"), Keyword.OPT_IN),
    **dict.fromkeys(("HELP", "INFO"), Keyword.HELP),
}


def keyword_of(body: str) -> Keyword | None:
    return WORDS.get(body.strip().upper())
