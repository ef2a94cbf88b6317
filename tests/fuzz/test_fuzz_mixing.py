"""mix_frames, AudioMixer (constructor, add_stream, streams of anything) and GainProcessor."""

from __future__ import annotations

import asyncio
import math
from types import SimpleNamespace

import pytest
from fuzzkit import (
    JUNK,
    FrameCase,
    arguments,
    assert_valid_frame,
    check,
    failed,
    frames,
    ints,
    known_defect,
    reals,
    sample_rates,
    snapshot,
)
from hypothesis import example, given
from hypothesis import strategies as st

from livekit_audio import AudioFrame, AudioMixer, GainProcessor, mix_frames
from livekit_audio.audio_frame import MAX_SAMPLES_PER_CHANNEL


@given(
    st.lists(
        frames(rate=st.sampled_from([16000, 16000, 48000]), channels=st.sampled_from([1, 1, 2])),
        max_size=5,
    ),
    st.one_of(st.none(), st.lists(reals(-2000, 2000), max_size=6), st.sampled_from(JUNK)),
)
@example([], None)
@example([FrameCase(AudioFrame.create(16000, 1, 1), frozenset(), 16000, 1, 1, True)], [10**400])
def test_mix_frames(cases, gains):
    items = [c.frame for c in cases]
    names = {"mismatch", "at least one", "gains", "frame"}
    for i, c in enumerate(cases):
        names |= set(c.faults) | {f"frames[{i}]", f"frame {i}"}
    out = check(
        mix_frames,
        items,
        gains=gains,
        entry="mix_frames",
        names=names,
        untouched=[*items, gains],
    )
    if not failed(out):
        assert_valid_frame(out, rate=cases[0].rate, channels=cases[0].channels)
        assert out.samples_per_channel == max(c.size for c in cases)
        if gains is None and len(cases) == 1:
            assert (
                out.to_ndarray().tobytes()
                == AudioFrame(cases[0].frame.data, 1, cases[0].channels, cases[0].size)
                .to_ndarray()
                .tobytes()
            )


_MIXER_VALID = {
    "sample_rate": st.sampled_from([8000, 16000, 48000]),
    "num_channels": st.integers(1, 8),
    "blocksize": st.sampled_from([0, 1, 160, 480]),
    "stream_timeout_ms": st.sampled_from([0, 1, 5.5]),
    "capacity": st.sampled_from([0, 1, 100]),
}
_MIXER_BAD = {
    "sample_rate": st.one_of(sample_rates(), ints()),
    "num_channels": st.one_of(st.sampled_from([0, 9]), ints()),
    "blocksize": ints(),
    "stream_timeout_ms": reals(),
    "capacity": ints(),
}


@given(arguments(_MIXER_VALID, _MIXER_BAD))
def test_mixer_constructor(args):
    values, mutated = args
    rate, channels = values.pop("sample_rate"), values.pop("num_channels")
    out = check(
        AudioMixer,
        rate,
        channels,
        **values,
        entry="AudioMixer",
        names=mutated or set(_MIXER_VALID),
    )
    if not failed(out):
        # its blocks must be able to be AudioFrames
        assert out.blocksize <= MAX_SAMPLES_PER_CHANNEL or known_defect("mixer-blocksize")


async def _aiter(items, fail=False):
    for item in items:
        yield item
        await asyncio.sleep(0)
    if fail:
        raise RuntimeError("this stream broke")


@pytest.mark.asyncio
@given(
    st.sampled_from([(16000, 1), (48000, 2), (8000, 1)]),
    st.lists(
        st.tuples(
            st.lists(
                frames(rate=st.sampled_from([16000, 48000, 44100, 7]), max_size=700), max_size=3
            ),
            st.one_of(st.just(1.0), reals(-2000, 2000)),
            st.booleans(),
        ),
        max_size=3,
    ),
    st.sampled_from([None, 5, "stream", [1], object()]),
)
async def test_mixer_streams(layout, streams, junk_stream):
    """Streams of anything (bad frames, other formats, streams that raise): add_stream
    rejects only its own bad arguments, the mix ends normally after end_input, every block
    has the mixer's layout and the frames the streams yielded are untouched."""
    rate, channels = layout
    mixer = AudioMixer(rate, channels, stream_timeout_ms=2, capacity=0)
    yielded = []
    try:
        check(
            mixer.add_stream,
            junk_stream,
            entry="AudioMixer.add_stream",
            allowed=(RuntimeError,),
            names=("stream",),
        )
        for cases, gain, fail in streams:
            items = [c.frame for c in cases]
            yielded += items
            check(
                mixer.add_stream,
                _aiter(items, fail),
                gain=gain,
                entry="AudioMixer.add_stream",
                allowed=(RuntimeError,),
                names=("gain",),
            )
        before = [snapshot(x) for x in yielded]
        mixer.end_input()
        out = []

        async def drain():
            async for block in mixer:
                out.append(block)

        await asyncio.wait_for(drain(), 20)
        for block in out:
            assert_valid_frame(block, rate=rate, channels=channels)
            assert block.samples_per_channel == mixer.blocksize
        assert [snapshot(x) for x in yielded] == before
        check(
            mixer.add_stream,
            _aiter([]),
            entry="AudioMixer.add_stream",
            allowed=(RuntimeError,),
            names=("end_input",),
        )
    finally:
        await mixer.aclose()


# -- GainProcessor -------------------------------------------------------------------------


@given(st.one_of(reals(-200, 80), st.sampled_from([-math.inf, 60.0, 60.000001, 10**400])))
@example(10**400)  # regression: OverflowError from float(gain_db)
@example(-(10**400))  # (mutes, like -inf)
def test_gain_processor_constructor_and_setter(gain_db):
    out = check(GainProcessor, gain_db, entry="GainProcessor", names=("gain_db",))
    proc = GainProcessor(0.0)
    check(setattr, proc, "gain_db", gain_db, entry="GainProcessor.gain_db", names=("gain_db",))
    if not failed(out):
        assert out.gain >= 0.0 and math.isfinite(out.gain)


@given(
    st.one_of(st.floats(-100, 60), st.just(-math.inf)),
    st.booleans(),
    st.lists(frames(max_size=800), min_size=1, max_size=4),
)
@example(  # regression: at unity gain a bad frame was handed back unvalidated
    0.0,
    False,
    [
        FrameCase(
            SimpleNamespace(
                data=bytearray(), sample_rate=8000, num_channels=1, samples_per_channel=-1
            ),
            frozenset({"samples_per_channel"}),
            8000,
            1,
            -1,
            False,
        )
    ],
)
def test_gain_processor_process(gain_db, smooth, cases):
    """In place for a writable frame, a processed copy for a read-only one (the input is
    then untouched), the input itself when nothing changes; rejected frames untouched."""
    proc = GainProcessor(gain_db, smooth=smooth)
    for case in cases:
        frame = case.frame
        before = snapshot(frame)
        out = check(
            proc._process,
            frame,
            entry="GainProcessor._process",
            allowed=(RuntimeError,),
            names=case.faults,
        )
        if failed(out):
            assert snapshot(frame) == before
            continue
        assert_valid_frame(out, rate=case.rate, channels=case.channels, any_type=True)
        assert out.samples_per_channel == case.size
        if out is not frame:  # a read-only input: left as it was
            assert snapshot(frame) == before
    proc._close()
    check(
        proc._process,
        cases[0].frame,
        entry="GainProcessor._process",
        allowed=(RuntimeError,),
        names=cases[0].faults,
    )
