"""Minimal reproductions of the defects the fuzz suite found in files it may not change.

Each is a strict xfail asserting the right behaviour (a ValueError/TypeError naming the
parameter): once the defect is fixed the test passes, strict turns that into a failure, and
the fix should remove the marker here and the entry in ``fuzzkit.KNOWN_DEFECTS`` (which
makes the fuzz properties tolerate the defect meanwhile, counted as ``known:<id>``).
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from fuzzkit import KNOWN_DEFECTS

import livekit_audio as la


def xfail(key: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=f"{key}: {KNOWN_DEFECTS[key].what}")


def raises_naming(exc: type[BaseException], name: str, fn, *args, **kwargs) -> None:
    with pytest.raises(exc, match=name):
        fn(*args, **kwargs)


@pytest.mark.parametrize(("rate", "channels"), [(2**32, 1), (2**31, 2), (2**64, 1)])
def test_to_wav_bytes_at_a_rate_past_the_wav_header(rate, channels):
    frame = la.AudioFrame.create(rate, channels, 1)
    try:
        frame.to_wav_bytes()
    except ValueError as exc:  # refusing is fine, naming the rate
        assert "sample_rate" in str(exc)


@pytest.mark.parametrize("frames", [None, 5])
def test_combine_audio_frames_of_a_non_iterable_names_frames(frames):
    raises_naming(TypeError, "frames", la.combine_audio_frames, frames)


@pytest.mark.parametrize("frames", [None, 5, np.array(480)])
def test_mix_frames_of_a_non_iterable_names_frames(frames):
    raises_naming(TypeError, "frames", la.mix_frames, frames)


def test_mix_frames_gains_not_iterable_names_gains():
    raises_naming(TypeError, "gains", la.mix_frames, [la.AudioFrame.create(16000, 1, 1)], gains=5)


def test_mixer_stream_timeout_past_float_range():
    raises_naming(
        ValueError, "stream_timeout_ms", la.AudioMixer, 48000, 1, stream_timeout_ms=10**400
    )


def test_mix_frames_gain_past_float_range():
    raises_naming(
        ValueError, "gains", la.mix_frames, [la.AudioFrame.create(16000, 1, 1)], gains=[10**400]
    )


def test_mixer_add_stream_gain_past_float_range():
    async def main():
        mixer = la.AudioMixer(48000, 1)

        async def nothing():
            return
            yield

        try:
            raises_naming(ValueError, "gain", mixer.add_stream, nothing(), gain=10**400)
        finally:
            await mixer.aclose()

    asyncio.run(main())


@pytest.mark.parametrize(
    "option", ["agc_target_level_dbfs", "agc_max_gain_db", "agc_max_noise_level_dbfs"]
)
def test_apm_option_past_float_range(option):
    raises_naming(ValueError, option, la.AudioProcessingModule, **{option: 10**400})


@pytest.mark.parametrize("modules", [5, None])
def test_process_batch_of_a_non_sequence_names_modules(modules):
    raises_naming(TypeError, "modules", la.process_batch, modules, [])


def test_process_batch_of_a_generator_names_modules():
    apm = la.AudioProcessingModule()
    gen = (m for m in [apm])
    raises_naming(
        TypeError, "modules", la.process_batch, gen, [la.AudioFrame.create(16000, 1, 160)]
    )


@pytest.mark.parametrize("frame", [None, 5, b"\x00\x00"])
def test_apm_processor_process_reverse_of_a_non_frame(frame):
    raises_naming(TypeError, "frame", la.ApmProcessor().process_reverse, frame)


@pytest.mark.parametrize("blocksize", [2**31, 2**40])
def test_mixer_blocksize_past_the_frame_limit(blocksize):
    raises_naming(ValueError, "blocksize", la.AudioMixer, 48000, 1, blocksize=blocksize)


def test_every_known_defect_has_a_reproduction():
    import inspect
    import sys

    source = inspect.getsource(sys.modules[__name__])
    missing = [key for key in KNOWN_DEFECTS if f'xfail("{key}")' not in source]
    assert not missing
