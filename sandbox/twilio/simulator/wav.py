"""Real, small WAV files for the recordings the simulator makes: a steady tone, 8 kHz, 16-bit PCM.

400 Hz at 8000 samples per second is exactly 20 samples a period, so one second of tone is computed
once and repeated: a ten-minute recording costs a bytes multiplication, not a Python loop.
"""

from __future__ import annotations

import io
import math
import sys
import wave
from array import array
from functools import cache

SAMPLE_RATE = 8000
TONE_HZ = 400
AMPLITUDE = 0.3
MAX_SECONDS = 600  # what the control API accepts for one recording (about 9.6 MB of audio)


@cache
def _one_second(channels: int) -> bytes:
    samples = array(
        "h",
        (
            int(AMPLITUDE * 32767 * math.sin(2 * math.pi * TONE_HZ * n / SAMPLE_RATE))
            for n in range(SAMPLE_RATE)
            for _ in range(channels)
        ),
    )
    if sys.byteorder == "big":
        samples.byteswap()  # WAV is little-endian
    return samples.tobytes()


def tone_wav(seconds: int, channels: int = 1) -> bytes:
    """A WAV file of `seconds` (0 to MAX_SECONDS) of tone, mono or two-channel."""
    if not 0 <= seconds <= MAX_SECONDS:
        raise ValueError(f"a recording is 0 to {MAX_SECONDS} seconds long")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(_one_second(channels) * seconds)
    return buffer.getvalue()
