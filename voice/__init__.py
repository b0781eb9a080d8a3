"""Voice messages, templates to TwiML, voice files, AI agents. Built from the voice messages issue on."""
