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


# -- filter plug-ins (test_fuzz_filters.py) --------------------------------------------------


@pytest.fixture(scope="module")
def gain_highpass(tmp_path_factory):
    """The example plug-in (gain + high-pass), loaded under an id of this module."""
    from helpers import EXAMPLE_PLUGIN, build_plugin

    path = build_plugin(EXAMPLE_PLUGIN, tmp_path_factory.mktemp("defects") / "libgh.so")
    return la.AudioFilter("fuzz_defects_gain_highpass", path)


def test_audio_filter_dependencies_not_a_list_names_dependencies(gain_highpass):
    raises_naming(
        TypeError, "dependencies", la.AudioFilter, "fuzz_defects_deps", gain_highpass.path, 5
    )


@pytest.mark.parametrize(
    ("samples", "out", "name"),
    [
        (np.zeros(480, np.int16), bytes(960), "out"),  # read-only out: BufferError
        (np.zeros(480, np.int16), memoryview(bytes(960)), "out"),
        ([0] * 480, np.zeros(480, np.int16), "samples"),
        (np.zeros(960, np.int16)[::2], np.zeros(480, np.int16), "samples"),
    ],
)
def test_filter_process_into_names_the_buffer(gain_highpass, samples, out, name):
    instance = gain_highpass.create(48000, 1)
    with pytest.raises((TypeError, ValueError), match=name):
        instance.process_into(samples, out)


def test_filter_stage_takes_a_frame_like_object(gain_highpass):
    from types import SimpleNamespace

    from livekit_audio.filter_processor import FilterStage

    stage = FilterStage(gain_highpass.processor())
    duck = SimpleNamespace(
        data=bytearray(200), sample_rate=48000, num_channels=1, samples_per_channel=100
    )
    out = stage.push(duck) + stage.flush()
    assert sum(f.samples_per_channel for f in out) == 100


@pytest.mark.parametrize("refused", [(48000, 9), (999, 1)])
def test_filter_stage_flush_after_a_refused_push(gain_highpass, refused):
    from livekit_audio.filter_processor import FilterStage

    stage = FilterStage(gain_highpass.processor())
    out = stage.push(la.AudioFrame.create(48000, 1, 100))
    with pytest.raises(ValueError):
        stage.push(la.AudioFrame.create(*refused, 100))
    out += stage.flush()
    assert sum(f.samples_per_channel for f in out) == 100


def test_filter_processor_keeps_its_audio_after_a_refused_rate(gain_highpass):
    """The identity plug-in: 100 samples in, a 999 Hz frame refused, more samples in;
    the first 100 samples must come out (after delay_samples), not silence."""
    rng = np.random.default_rng(1)
    first, second = (rng.integers(-1000, 1000, (k, 1), dtype=np.int16) for k in (100, 380))
    proc = gain_highpass.processor()
    out = [proc._process(la.AudioFrame.from_ndarray(first, 48000)).to_ndarray()]
    with pytest.raises(ValueError):
        proc._process(la.AudioFrame.create(999, 1, 10))
    out.append(proc._process(la.AudioFrame.from_ndarray(second, 48000)).to_ndarray())
    out.append(proc._process(la.AudioFrame.create(48000, 1, 480)).to_ndarray())
    delay = proc.delay_samples
    got = np.concatenate(out)[delay : delay + 480]
    assert np.array_equal(got, np.concatenate([first, second]))


@pytest.mark.parametrize("options", [5, {1: 2}, "gain_db"])
def test_noise_cancellation_options_not_a_str_dict_names_options(gain_highpass, options):
    async def main():
        async def nothing():
            return
            yield

        nco = la.NoiseCancellationOptions(gain_highpass.module_id, options)
        with pytest.raises((TypeError, ValueError), match="options|noise_cancellation"):
            await la.AudioStream.from_frames(nothing(), noise_cancellation=nco).aclose()

    asyncio.run(main())


# -- video and A/V sync (test_fuzz_video.py) -------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [{"video_fps": 10**400}, {"video_fps": 1e300}, {"video_fps": 30, "video_queue_size_ms": 1e308}],
)
def test_av_synchronizer_numbers_past_float_range(kwargs):
    kwargs = {"video_fps": 30, **kwargs}
    try:
        la.AVSynchronizer(
            audio_source=la.AudioSource(16000, 1), video_source=la.VideoSource(4, 4), **kwargs
        )
    except ValueError as exc:  # refusing is fine, naming the parameter
        assert any(name in str(exc) for name in kwargs)


def test_av_synchronizer_push_timestamp_past_float_range():
    async def main():
        sync = la.AVSynchronizer(
            audio_source=la.AudioSource(16000, 1), video_source=la.VideoSource(4, 4), video_fps=30
        )
        try:
            with pytest.raises(ValueError, match="timestamp"):
                await sync.push(la.VideoFrame(4, 4, 0, bytes(64)), 10**400)
        finally:
            await sync.aclose()

    asyncio.run(main())


@pytest.mark.parametrize("plane", ["a", 1.5, None])
def test_video_frame_get_plane_of_junk_names_plane_nth(plane):
    frame = la.VideoFrame(2, 2, la.VideoBufferType.I420, bytes(6))
    raises_naming(TypeError, "plane_nth", frame.get_plane, plane)
