"""Type stub for the private Cython module livekit_audio._native._resample."""

from typing import Any

import numpy as np
import numpy.typing as npt

FORMAT_S16: int
FORMAT_F32: int
MIN_RATE_HZ: int
MAX_RATE_HZ: int
MAX_CHANNELS: int
MAX_PHASES: int
MAX_TAPS: int

def dot_kernel_name() -> str: ...
def dot_generic(h: npt.NDArray[np.float32], x: npt.NDArray[np.float32]) -> float: ...

class PolyphaseFilter:
    coefficients: npt.NDArray[np.float32]
    passband_edge: float
    stopband_edge: float
    stopband_atten_db: float
    def __init__(
        self,
        input_rate: int,
        output_rate: int,
        passband_edge: float,
        stopband_edge: float,
        stopband_atten_db: float,
    ) -> None: ...
    @property
    def up(self) -> int: ...
    @property
    def down(self) -> int: ...
    @property
    def taps(self) -> int: ...
    @property
    def cutoff(self) -> float: ...
    @property
    def kaiser_beta(self) -> float: ...

class StreamState:
    filter: PolyphaseFilter
    def __init__(self, filter: PolyphaseFilter, num_channels: int) -> None: ...
    @property
    def total_in(self) -> int: ...
    @property
    def total_out(self) -> int: ...
    def output_count(self, in_frames: int) -> int: ...
    def flush_count(self) -> int: ...
    def process(self, src: Any, dst: Any, fmt: int) -> int: ...
    def flush(self, dst: Any, fmt: int) -> int: ...
    def reset(self) -> None: ...
