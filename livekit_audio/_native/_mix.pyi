"""Type stub for the private Cython module livekit_audio._native._mix."""

from collections.abc import Sequence
from typing import Any

MAX_INPUTS: int
MAX_GAIN: float

def kernel_name() -> str: ...
def mix(inputs: Sequence[Any], gains: Sequence[float] | None, out: Any) -> None: ...
def gain(buf: Any, num_channels: int, gain_start: float, gain_end: float) -> None: ...
