"""A second process for test_agent_config_across_processes: looks up a number's configuration in a loop, as the
call path does, and prints a JSON line (greeting, version, wall-clock time) each time what it gets changes.

    python -m voice.agents.tests.config_watcher <schema> <phone number>
"""

import json
import os
import sys
import time

import django


def main(schema: str, phone_number: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django_tenants.utils import schema_context

    from voice.agents.lookup import agent_config_for_number

    last: tuple[str, int] | None = None
    with schema_context(schema):
        while True:
            config = agent_config_for_number(phone_number=phone_number)
            if (config.greeting, config.version) != last:
                last = (config.greeting, config.version)
                print(
                    json.dumps({"greeting": config.greeting, "version": config.version, "at": time.time()}), flush=True
                )
            time.sleep(0.001)


if __name__ == "__main__":
    main(*sys.argv[1:3])
