"""Each limit is defined once, in csrc/la_dsp.h, and the Python layers agree with it.

The header is read as text (the C compiler is not needed), so a constant copied by hand
into Python, or a status code renumbered on one side only, fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from livekit_audio import _errors, apm, apm_resampling, mixer, resampler
from livekit_audio._native import _apm, _mix, _resample

HEADER = Path(__file__).resolve().parent.parent / "csrc" / "la_dsp.h"
APM_C = HEADER.with_name("la_apm.c")

pytestmark = pytest.mark.skipif(not HEADER.exists(), reason="needs the source checkout")


def _defines() -> dict[str, str]:
    text = HEADER.read_text()
    return dict(re.findall(r"^#define\s+(LA_[A-Z0-9_]+)\s+([^\s/]+)", text, re.M))


def _number(value: str) -> float:
    return float(value.rstrip("f"))


def test_status_codes_match_the_header():
    text = HEADER.read_text()
    body = re.search(r"typedef enum\s+la_status\s*\{(.*?)\}\s*la_status;", text, re.S)
    assert body is not None
    codes = {int(v): k for k, v in re.findall(r"(LA_[A-Z_]+)\s*=\s*(\d+)", body.group(1))}
    assert codes == _errors.STATUS_NAMES
    assert _errors.VALUE_ERROR_CODES <= set(codes) - {0, 1, 5}  # bad values, not bad buffers


def test_resampler_limits_come_from_the_header():
    d = _defines()
    assert resampler.MIN_SAMPLE_RATE_HZ == _resample.MIN_RATE_HZ == int(d["LA_MIN_RATE_HZ"])
    assert resampler.MAX_SAMPLE_RATE_HZ == _resample.MAX_RATE_HZ == int(d["LA_MAX_RATE_HZ"])
    assert resampler.MAX_CHANNELS == int(d["LA_MAX_CHANNELS"])
    assert resampler.MAX_PHASES == int(d["LA_MAX_PHASES"])
    assert resampler.MAX_TAPS == int(d["LA_MAX_TAPS"])


def test_mixer_limits_come_from_the_header():
    d = _defines()
    assert mixer.MAX_GAIN == _number(d["LA_MAX_GAIN"])
    assert _mix.MAX_INPUTS == int(d["LA_MAX_MIX_INPUTS"])


def test_apm_limits_come_from_the_header():
    d = _defines()
    rates = re.search(
        r"la_apm_native_rates_hz\[LA_APM_NUM_NATIVE_RATES\]\s*=\s*\{([^}]*)\}", APM_C.read_text()
    )
    assert rates is not None
    native = tuple(int(r) for r in rates.group(1).split(","))
    assert len(native) == int(d["LA_APM_NUM_NATIVE_RATES"])
    assert apm.SUPPORTED_SAMPLE_RATES == apm_resampling.SUPPORTED_SAMPLE_RATES == native
    assert _apm.NATIVE_RATES_HZ == native
    assert apm._MAX_CHANNELS == int(d["LA_APM_MAX_CHANNELS"])
    assert apm._MAX_STREAM_DELAY_MS == int(d["LA_APM_MAX_STREAM_DELAY_MS"])


def test_the_apm_refuses_what_the_header_excludes():
    module = apm.AudioProcessingModule()
    with pytest.raises(ValueError, match="500"):
        module.set_stream_delay_ms(apm._MAX_STREAM_DELAY_MS + 1)
    module.set_stream_delay_ms(apm._MAX_STREAM_DELAY_MS)
