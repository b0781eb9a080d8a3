"""The sandbox's Twilio REST API: a table from path and method to handler.

Each handler is a plain function ``(api, request, caller, *path_groups) -> Response`` in accounts,
messages, calls, recordings or phone_numbers, so routing stays a table.
"""

from __future__ import annotations

import re

from .. import errors
from ..behaviour import Engine
from ..state import Store
from . import accounts as api_accounts
from . import calls as api_calls
from . import messages as api_messages
from . import phone_numbers as api_numbers
from . import recordings as api_recordings
from .common import ApiContext, Handler, Request, Response


class TwilioApi(ApiContext):
    def __init__(self, store: Store, engine: Engine) -> None:
        super().__init__(store, engine)

        root = r"^/2010-04-01/Accounts"
        self._routes: list[tuple[re.Pattern[str], dict[str, Handler]]] = [
            (re.compile(rf"{root}\.json$"), {"GET": api_accounts.list_accounts, "POST": api_accounts.create_account}),
            (
                re.compile(rf"{root}/([^/]+)\.json$"),
                {"GET": api_accounts.fetch_account, "POST": api_accounts.update_account},
            ),
            (
                re.compile(rf"{root}/([^/]+)/Messages\.json$"),
                {"GET": api_messages.list_messages, "POST": api_messages.create_message},
            ),
            (
                re.compile(rf"{root}/([^/]+)/Messages/([^/]+)\.json$"),
                {
                    "GET": api_messages.fetch_message,
                    "POST": api_messages.update_message,
                    "DELETE": api_messages.delete_message,
                },
            ),
            (re.compile(rf"{root}/([^/]+)/Calls\.json$"), {"GET": api_calls.list_calls, "POST": api_calls.create_call}),
            (
                re.compile(rf"{root}/([^/]+)/Calls/([^/]+)\.json$"),
                {"GET": api_calls.fetch_call, "POST": api_calls.update_call, "DELETE": api_calls.delete_call},
            ),
            (
                re.compile(rf"{root}/([^/]+)/Calls/([^/]+)/Recordings\.json$"),
                {"GET": api_recordings.list_call_recordings},
            ),
            (
                re.compile(rf"{root}/([^/]+)/Calls/([^/]+)/Recordings/([^/]+)\.json$"),
                {"GET": api_recordings.fetch_call_recording, "DELETE": api_recordings.delete_call_recording},
            ),
            (re.compile(rf"{root}/([^/]+)/Recordings\.json$"), {"GET": api_recordings.list_recordings}),
            (
                re.compile(rf"{root}/([^/]+)/Recordings/([^/.]+)\.json$"),
                {"GET": api_recordings.fetch_recording, "DELETE": api_recordings.delete_recording},
            ),
            (re.compile(rf"{root}/([^/]+)/Recordings/([^/.]+)(\.wav|\.mp3)?$"), {"GET": api_recordings.fetch_media}),
            (
                re.compile(rf"{root}/([^/]+)/IncomingPhoneNumbers(?:/(Local|Mobile|TollFree))?\.json$"),
                {"GET": api_numbers.list_numbers, "POST": api_numbers.buy_number},
            ),
            (
                re.compile(rf"{root}/([^/]+)/IncomingPhoneNumbers/([^/]+)\.json$"),
                {
                    "GET": api_numbers.fetch_number,
                    "POST": api_numbers.update_number,
                    "DELETE": api_numbers.release_number,
                },
            ),
            (
                re.compile(rf"{root}/([^/]+)/AvailablePhoneNumbers/([^/]+)/(Local|Mobile|TollFree)\.json$"),
                {"GET": api_numbers.available_numbers},
            ),
            (re.compile(rf"{root}/([^/]+)/OutgoingCallerIds\.json$"), {"GET": api_numbers.list_caller_ids}),
            (re.compile(rf"{root}/([^/]+)/OutgoingCallerIds/([^/]+)\.json$"), {"GET": api_numbers.fetch_caller_id}),
        ]

    def handle(self, request: Request) -> Response:
        try:
            for pattern, methods in self._routes:
                match = pattern.match(request.path)
                if match is None:
                    continue
                handler = methods.get(request.method)
                if handler is None:
                    raise errors.method_not_allowed(request.method, request.path)
                caller = self.authenticate(request.authorization)
                return handler(self, request, caller, *match.groups())
            # Unknown paths still need credentials first, as on Twilio (no probing without them).
            self.authenticate(request.authorization)
            raise errors.not_found(request.path)
        except errors.ApiError as exc:
            return Response(exc.status, exc.body(), exc.headers)
