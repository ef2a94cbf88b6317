"""AudioProcessingModule (options, process_stream, process_reverse_stream,
set_stream_delay_ms), process_batch, and ApmProcessor (_process, process_reverse)."""

from __future__ import annotations

import numpy as np
from fuzzkit import (
    JUNK,
    FrameCase,
    arguments,
    assert_valid_frame,
    check,
    failed,
    frames,
    ints,
    reals,
    snapshot,
)
from hypothesis import example, given
from hypothesis import strategies as st

from livekit_audio import (
    ApmProcessor,
    AudioFrame,
    AudioProcessingError,
    AudioProcessingModule,
    process_batch,
)

_LEVELS = ("low", "moderate", "high", "very_high", "HIGH")
_OPTIONS_VALID = {
    "echo_cancellation": st.booleans(),
    "noise_suppression": st.booleans(),
    "high_pass_filter": st.booleans(),
    "auto_gain_control": st.booleans(),
    "noise_suppression_level": st.sampled_from(_LEVELS),
    "agc_target_level_dbfs": st.floats(-50, -3),
    "agc_max_gain_db": st.floats(0, 50),
    "agc_max_noise_level_dbfs": st.floats(-90, -20),
    "aec_tail_ms": st.integers(50, 640),
}
_OPTIONS_BAD = {
    "noise_suppression_level": st.sampled_from(["extreme", "", None, 3, [], "high "]),
    "agc_target_level_dbfs": reals(),
    "agc_max_gain_db": reals(),
    "agc_max_noise_level_dbfs": reals(),
    "aec_tail_ms": ints(),
}
#: Rates the module runs at natively, resamples, and refuses.
APM_RATES = (8000, 16000, 32000, 48000, 11025, 22050, 24000, 44100, 96000)
_ODD_APM_RATES = (7999, 96001, 8001, 47999, 100, 1, 768000)
_APM_ERRORS = (AudioProcessingError, RuntimeError)


def _apm_frames(max_blocks: int = 3) -> st.SearchStrategy[FrameCase]:
    """Frames near what the module takes: its rates (and some it refuses), 0 to 3 and 9
    channels, whole 10 ms blocks or not."""
    return st.sampled_from(APM_RATES + _ODD_APM_RATES).flatmap(
        lambda rate: frames(
            rate=rate,
            channels=st.sampled_from([1, 1, 2, 2, 3, 8, 9]),
            size=st.one_of(
                st.integers(0, max_blocks).map(lambda k: k * (rate // 100)),
                st.integers(0, 3 * max(rate // 100, 1)),
            ),
            max_size=max_blocks * 960,
        )
    )


def _frame_names(case: FrameCase) -> set[str]:
    # the module's own layout errors (AudioProcessingError) need no name check; a bad field
    # raises TypeError/ValueError naming it, and a read-only frame names "read-only"
    return set(case.faults) | {"read-only", "AudioFrame"}


@given(arguments(_OPTIONS_VALID, _OPTIONS_BAD))
def test_options(args):
    values, mutated = args
    out = check(
        AudioProcessingModule,
        **values,
        entry="AudioProcessingModule",
        names=mutated or set(_OPTIONS_VALID),
    )
    if failed(out):
        return
    check(ApmProcessor, **values, entry="ApmProcessor", names=set(_OPTIONS_VALID))


@given(st.one_of(st.integers(-10, 600), ints()))
@example(10**400)
def test_set_stream_delay_ms(delay):
    apm = AudioProcessingModule(echo_cancellation=True)
    check(
        apm.set_stream_delay_ms,
        delay,
        entry="set_stream_delay_ms",
        allowed=_APM_ERRORS,
        names=("delay_ms",),
    )


@given(
    st.fixed_dictionaries({k: _OPTIONS_VALID[k] for k in list(_OPTIONS_VALID)[:4]}),
    st.lists(st.tuples(st.booleans(), _apm_frames()), min_size=1, max_size=5),
)
def test_process_stream_and_reverse(options, calls):
    """Capture frames are processed in place or refused untouched; far-end frames are never
    modified; the module keeps working after any refusal."""
    apm = AudioProcessingModule(**options)
    for reverse, case in calls:
        frame = case.frame
        before = snapshot(frame)
        if reverse:
            check(
                apm.process_reverse_stream,
                frame,
                entry="process_reverse_stream",
                allowed=_APM_ERRORS,
                names=_frame_names(case),
                untouched=[frame],
            )
            continue
        out = check(
            apm.process_stream,
            frame,
            entry="process_stream",
            allowed=_APM_ERRORS,
            names=_frame_names(case),
        )
        if failed(out):
            assert snapshot(frame) == before, "a refused frame was modified"
        else:
            assert out is None
            assert_valid_frame(frame, rate=case.rate, channels=case.channels, any_type=True)
    good = AudioFrame.create(16000, 1, 160)
    apm.process_stream(good)  # still usable
    apm.stats  # noqa: B018


@given(
    st.lists(
        st.tuples(st.sampled_from(["module", "module", "junk", "same"]), _apm_frames(1)), max_size=4
    ),
    st.sampled_from(["list", "tuple", "short", "long", "generator", "int"]),
)
@example([], "int")
@example(
    [("module", FrameCase(AudioFrame.create(16000, 1, 160), frozenset(), 16000, 1, 160, True))],
    "generator",
)
def test_process_batch(items, container):
    modules, frames_ = [], []
    for kind, case in items:
        if kind == "module" or (kind == "same" and not modules):
            modules.append(AudioProcessingModule(noise_suppression=True))
        elif kind == "same":
            modules.append(modules[0])
        else:
            modules.append(JUNK[len(modules) % len(JUNK)])
        frames_.append(case.frame)
    mods: object = modules
    frs: object = frames_
    if container == "tuple":
        mods, frs = tuple(modules), tuple(frames_)
    elif container == "short":
        frs = frames_[:-1]
    elif container == "long":
        frs = [*frames_, AudioFrame.create(16000, 1, 160)]
    elif container == "generator":
        mods = (m for m in modules)
    elif container == "int":
        mods = 5
    names = {"modules", "frames", "process_batch", "read-only"}
    for _, case in items:
        names |= case.faults
    check(process_batch, mods, frs, entry="process_batch", allowed=_APM_ERRORS, names=names)


@given(
    st.sampled_from([16000, 44100, 48000]),
    st.sampled_from([1, 2]),
    st.lists(st.tuples(st.booleans(), _apm_frames(2)), min_size=1, max_size=5),
)
@example(16000, 1, [(True, FrameCase(None, frozenset({"frame"}), None, None, None, False))])
def test_apm_processor(rate, channels, calls):
    """Our frames are never modified (a new frame comes back, of the input's size); far-end
    frames are never modified; the processor keeps working after a refusal."""
    proc = ApmProcessor(noise_suppression=True, echo_cancellation=True)
    for reverse, case in calls:
        frame = case.frame
        if reverse:
            check(
                proc.process_reverse,
                frame,
                entry="ApmProcessor.process_reverse",
                allowed=(AudioProcessingError,),
                names=_frame_names(case),
                untouched=[frame],
            )
            continue
        before = snapshot(frame)
        out = check(
            proc._process,
            frame,
            entry="ApmProcessor._process",
            allowed=_APM_ERRORS,
            names=_frame_names(case),
        )
        if failed(out) or case.ours:
            assert snapshot(frame) == before
        if not failed(out):
            assert_valid_frame(out, rate=case.rate, channels=case.channels, any_type=True)
            assert out.samples_per_channel == case.size
    out = proc._process(AudioFrame.create(rate, channels, rate // 100))
    assert out.samples_per_channel == rate // 100
    proc._close()
    check(
        proc._process,
        AudioFrame.create(rate, channels, rate // 100),
        entry="ApmProcessor._process",
        allowed=_APM_ERRORS,
    )
    assert np.array_equal(out.to_ndarray().shape, (rate // 100, channels))
