"""AudioFrame (constructor, create, from_ndarray, to_wav_bytes) and combine_audio_frames."""

from __future__ import annotations

import numpy as np
from fuzzkit import (
    BUFFER_KINDS,
    GOOD_BUFFER_KINDS,
    NOT_A_FRAME_WORDS,
    assert_valid_frame,
    check,
    failed,
    frames,
    ints,
    make_buffer,
    pcm,
    sample_rates,
)
from hypothesis import example, given
from hypothesis import strategies as st

from livekit_audio import AudioFrame, combine_audio_frames

_LAYOUT = ("sample_rate", "num_channels", "samples_per_channel")


@st.composite
def layouts(draw: st.DrawFn) -> tuple[dict[str, object], set[str]]:
    """A layout with zero, one or several fields replaced by fuzz, and the names mutated."""
    values: dict[str, object] = {
        "sample_rate": draw(sample_rates()),
        "num_channels": draw(st.integers(1, 10)),
        "samples_per_channel": draw(st.integers(0, 1000)),
    }
    mutated = set(draw(st.sets(st.sampled_from(_LAYOUT), max_size=3)))
    for name in mutated:
        values[name] = draw(ints())
    return values, mutated


def _int(x: object) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


@given(layouts(), st.sampled_from(BUFFER_KINDS), st.integers(-3, 3), st.data())
def test_constructor(layout, kind, slack, data):
    values, mutated = layout
    count = 0
    nc, n = values["num_channels"], values["samples_per_channel"]
    if _int(nc) and _int(n) and 0 < nc <= 64 and 0 <= n <= 4096:
        count = max(0, nc * n + slack)  # a buffer a little short, exact or a little long
    buf = make_buffer(kind, data.draw(pcm(count)), int(nc) if _int(nc) and 0 < nc <= 64 else 1)
    userdata = data.draw(st.sampled_from([None, {}, {"k": 1}, [], "x"]))
    names = set(mutated)
    if kind not in GOOD_BUFFER_KINDS or slack < 0:
        names |= {"data"}
    if userdata is not None and not isinstance(userdata, dict):
        names |= {"userdata"}
    out = check(
        AudioFrame,
        buf,
        values["sample_rate"],
        nc,
        n,
        userdata=userdata,
        entry="AudioFrame",
        names=names or _LAYOUT + ("data", "userdata"),
        untouched=[buf],
    )
    if not failed(out):
        assert_valid_frame(out)
        assert (out.sample_rate, out.num_channels, out.samples_per_channel) == (
            values["sample_rate"],
            nc,
            n,
        )
        got = np.frombuffer(out.data, np.int16)
        assert got.tobytes() == memoryview(buf).tobytes()[: 2 * nc * n]
        wav = check(out.to_wav_bytes, entry="AudioFrame.to_wav_bytes", allowed=())
        if not failed(wav):
            assert len(wav) == 44 + 2 * nc * n


@given(layouts())
@example(({"sample_rate": 2**33, "num_channels": 1, "samples_per_channel": 1}, set()))
def test_create(layout):
    values, mutated = layout
    nc, n = values["num_channels"], values["samples_per_channel"]
    if _int(nc) and _int(n) and 0 < nc <= 1024 and 0 <= n < 2**31 and int(nc) * int(n) > 2**24:
        return  # a valid layout of more than 32 MB: allocated in test_fuzz_subprocess.py
    out = check(AudioFrame.create, **values, entry="AudioFrame.create", names=mutated or _LAYOUT)
    if not failed(out):
        assert_valid_frame(out)
        assert not out.to_ndarray().any()
        check(out.to_wav_bytes, entry="AudioFrame.to_wav_bytes")


@st.composite
def arrays(draw: st.DrawFn) -> np.ndarray:
    """int16 arrays in every shape and memory order, and some of other dtypes."""
    ndim = draw(st.sampled_from([0, 1, 1, 2, 2, 2, 3]))
    shape = tuple(draw(st.integers(0, 12 if i else 300)) for i in range(ndim))
    if ndim == 2 and draw(st.booleans()):
        shape = (shape[0], draw(st.sampled_from([0, 1, 2, 9, 1024, 1025])))
    size = int(np.prod(shape)) if shape else 1
    if size > 400_000:
        shape = (0,) * ndim
        size = 0
    dtype = draw(st.sampled_from(["int16"] * 6 + ["float32", "int32", ">i2", "uint16", "bool"]))
    x = draw(pcm(size)).astype(dtype).reshape(shape)
    order = draw(st.sampled_from(["C", "F", "strided", "readonly", "broadcast"]))
    if order == "F":
        x = np.asfortranarray(x)
    elif order == "strided" and ndim:
        x = np.repeat(x, 2, axis=0)[::2]
    elif order == "readonly":
        x.flags.writeable = False
    elif order == "broadcast" and ndim == 2:
        x = np.broadcast_to(x[:1], x.shape)
    return x


@given(arrays(), st.one_of(sample_rates(), ints()))
def test_from_ndarray(array, rate):
    out = check(
        AudioFrame.from_ndarray,
        array,
        rate,
        entry="AudioFrame.from_ndarray",
        names=("array", "sample_rate", "num_channels", "samples_per_channel"),
        untouched=[array],
    )
    if not failed(out):
        assert_valid_frame(out, rate=rate)
        expect = array[:, np.newaxis] if array.ndim == 1 else array
        assert np.array_equal(out.to_ndarray(), expect)


@given(
    st.lists(
        frames(rate=st.sampled_from([16000, 48000]), channels=st.sampled_from([1, 2])), max_size=6
    ),
    st.sampled_from(["list", "tuple", "generator", "single", "none", "int"]),
)
@example([], "none")
@example([], "int")
def test_combine_audio_frames(cases, container):
    items = [c.frame for c in cases]
    arg = {
        "list": items,
        "tuple": tuple(items),
        "generator": (f for f in items),
        "single": items[0] if items else items,
        "none": None,
        "int": 5,
    }[container]
    names = set()
    for i, c in enumerate(cases):
        names |= set(c.faults) | {f"frames[{i}]", f"frame {i}"}
    names |= {"frame", "mismatch", "at least one"}
    out = check(
        combine_audio_frames,
        arg,
        entry="combine_audio_frames",
        names=names | set(NOT_A_FRAME_WORDS),
        untouched=items,
    )
    if failed(out):
        return
    used = cases[:1] if container == "single" else cases
    assert_valid_frame(out, rate=used[0].rate, channels=used[0].channels)
    assert out.samples_per_channel == sum(c.size for c in used)
    joined = b"".join(memoryview(c.frame.data).tobytes()[: 2 * c.size * c.channels] for c in used)
    assert out.to_ndarray().tobytes() == joined
