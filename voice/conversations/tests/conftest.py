"""Fixtures of the live-conversation tests (a real uvicorn on committed tenant data): see live_support.py."""

from voice.conversations.tests.live_support import live_pair, relay_server

__all__ = ["live_pair", "relay_server"]
