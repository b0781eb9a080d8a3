"""SIDs and auth tokens for the records the sandbox creates."""

import random
import secrets

# Not for secrets (auth tokens use `secrets`): SIDs only need to be unique, and this is fast.
_sid_random = random.Random(secrets.randbits(64))


def new_sid(prefix: str) -> str:
    return f"{prefix}{_sid_random.getrandbits(128):032x}"


def new_auth_token() -> str:
    return secrets.token_hex(16)
