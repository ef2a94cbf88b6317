"""Type stub for the private Cython module livekit_audio._native._apm."""

from typing import Any

import numpy as np
import numpy.typing as npt

NATIVE_RATES_HZ: tuple[int, ...]
MAX_CHANNELS: int
MAX_STREAM_DELAY_MS: int

class ApmCore:
    sample_rate: int
    num_channels: int
    hop: int
    def __init__(
        self,
        sample_rate: int,
        num_channels: int,
        high_pass_filter: bool,
        noise_suppression: bool,
        auto_gain_control: bool,
        ns_floor_db: float,
        agc_target_dbfs: float,
        agc_max_gain_db: float,
        agc_max_noise_out_dbfs: float,
        echo_cancellation: bool = ...,
        aec_tail_ms: int = ...,
    ) -> None: ...
    def set_stream_delay_ms(self, delay_ms: int) -> None: ...
    @property
    def delay_samples(self) -> int: ...
    def process_capture(self, data: Any) -> None: ...
    def process_render(self, data: Any, num_channels: int) -> None: ...
    def reset(self) -> None: ...
    def subnormal_count(self) -> int: ...
    def stats(self) -> dict[str, float | int]: ...

def process_capture_batch(cores: Any, buffers: Any) -> int: ...
def rfft(x: npt.NDArray[np.float32]) -> npt.NDArray[np.complex64]: ...
def irfft(re: npt.NDArray[np.float32], im: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]: ...
def hpf(x: npt.NDArray[np.float32], sample_rate: float, cutoff_hz: float = ...) -> None: ...
def band_split(
    x: npt.NDArray[np.float32], sample_rate: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], int]: ...
