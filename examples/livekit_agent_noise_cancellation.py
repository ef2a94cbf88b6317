"""A LiveKit agent with livekit_audio's noise suppression and echo cancellation, in ``livekit.rtc``.

    python examples/livekit_agent_noise_cancellation.py [-o OUT] [--seconds S]

LiveKit's own noise cancellation needs LiveKit Cloud. A self-hosted agent gets ours by
handing our processor to LiveKit's ``rtc.AudioStream`` and wrapping the agent's voice source
so the echo canceller hears what the agent says. In an agent connected to a LiveKit server:

    from livekit import rtc
    import livekit_audio as la
    from livekit_audio.integrations.livekit import EchoReferenceSource

    processor = la.ApmProcessor(noise_suppression=True, echo_cancellation=True,
                                high_pass_filter=True)
    voice = EchoReferenceSource(rtc.AudioSource(24000, 1), processor)   # the TTS output
    await room.local_participant.publish_track(
        rtc.LocalAudioTrack.create_audio_track("agent-voice", voice))

    @room.on("track_subscribed")
    def on_track(track, publication, participant):
        if track.kind == rtc.TrackKind.KIND_AUDIO:
            stream = rtc.AudioStream.from_track(
                track=track, sample_rate=16000, noise_cancellation=processor)
            asyncio.create_task(listen(stream))        # frames arrive cleaned

This script runs the same code path without a server: LiveKit's ``rtc.AudioSource`` ->
``rtc.LocalAudioTrack`` -> ``rtc.AudioStream`` works unconnected. The caller's "microphone"
is the speech clip shipped with the package plus white noise (10 dB SNR) plus the echo of the
agent's voice (the same clip 10 s later, 24 kHz, through a 60 ms, -10 dB echo path). The agent
talks for the first part while the caller is silent, then the caller talks. Both sources run
in real time (LiveKit paces them), so it takes ``--seconds`` of wall time. It prints the echo
and noise removed while the agent talks and the noise removed in the caller's pauses, and
writes what the agent hears to ``OUT`` (default ``agent_heard_livekit.wav``, 16 kHz).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.resources
import sys
import time

import numpy as np
import soundfile as sf
from livekit import rtc

import livekit_audio as la
from livekit_audio.integrations.livekit import EchoReferenceSource

MIC_RATE, VOICE_RATE, LISTEN_RATE = 48000, 24000, 16000
CLIP = "allison_demo-echotest_16k.flac"
SNR_DB = 10.0
ECHO_DELAY_S, ECHO_GAIN = 0.060, 10 ** (-10 / 20)
SEED = 7


def load_clip() -> tuple[np.ndarray, int]:
    with importlib.resources.as_file(
        importlib.resources.files("livekit_audio") / "data" / CLIP
    ) as p:
        x, rate = sf.read(p, dtype="int16")
    return x, rate


def make_scene(seconds: float) -> dict[str, np.ndarray]:
    """The agent's voice (24 kHz) and the caller's microphone (48 kHz), float64, plus the
    microphone's parts (noise, echo, caller) for scoring."""
    clip, rate = load_clip()
    agent_s = seconds / 3
    n_mic = int(seconds * MIC_RATE)
    voice = la.resample(clip[10 * rate : int((10 + agent_s) * rate)], rate, VOICE_RATE)
    voice = np.concatenate([voice, np.zeros(int(seconds * VOICE_RATE) - len(voice), np.int16)])
    echo = la.resample(voice, VOICE_RATE, MIC_RATE).astype(np.float64) * ECHO_GAIN
    delay = int(ECHO_DELAY_S * MIC_RATE)
    echo = np.concatenate([np.zeros(delay), echo[: n_mic - delay]])
    caller = np.zeros(n_mic)
    speech = la.resample(clip[: int((seconds - agent_s) * rate)], rate, MIC_RATE)
    caller[n_mic - len(speech) :] = speech
    noise = np.random.default_rng(SEED).standard_normal(n_mic)
    noise *= np.sqrt(np.mean(speech.astype(np.float64) ** 2) / 10 ** (SNR_DB / 10))
    mic = np.clip(np.round(caller + echo + noise), -32768, 32767)
    return {"voice": voice, "mic": mic, "caller": caller, "agent_s": np.array(agent_s)}


async def feed(source: object, x: np.ndarray, rate: int) -> None:
    """Capture ``x`` into ``source`` 10 ms at a time (LiveKit paces it in real time)."""
    hop = rate // 100
    for i in range(0, len(x) - hop + 1, hop):
        frame = la.AudioFrame(np.ascontiguousarray(x[i : i + hop], np.int16), rate, 1, hop)
        await source.capture_frame(frame)  # type: ignore[attr-defined]


async def run(seconds: float) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    scene = make_scene(seconds)
    processor = la.ApmProcessor(
        noise_suppression=True, echo_cancellation=True, high_pass_filter=True
    )
    voice = EchoReferenceSource(rtc.AudioSource(VOICE_RATE, 1), processor)
    rtc.LocalAudioTrack.create_audio_track("agent-voice", voice)  # what would be published
    mic = rtc.AudioSource(MIC_RATE, 1)
    caller_track = rtc.LocalAudioTrack.create_audio_track("caller-mic", mic)
    stream = rtc.AudioStream.from_track(
        track=caller_track, sample_rate=LISTEN_RATE, num_channels=1, noise_cancellation=processor
    )
    need = int(seconds * LISTEN_RATE) - LISTEN_RATE // 10
    heard: list[np.ndarray] = []

    async def listen() -> None:
        async for event in stream:
            heard.append(np.frombuffer(bytes(event.frame.data), np.int16).copy())
            if sum(map(len, heard)) >= need:
                return

    listener = asyncio.create_task(listen())
    await asyncio.gather(feed(voice, scene["voice"], VOICE_RATE), feed(mic, scene["mic"], MIC_RATE))
    await asyncio.wait_for(listener, 30)
    await stream.aclose()
    await voice.aclose()
    await mic.aclose()
    return np.concatenate(heard)[:need], scene


def db(num: float, den: float) -> float:
    return float(10 * np.log10(num / den))


def score(heard: np.ndarray, scene: dict[str, np.ndarray]) -> dict[str, float]:
    """Echo + noise removed while only the agent talks (its second half: the canceller has
    converged), and noise removed in the caller's pauses (20 ms frames 40 dB below the
    loudest), at the listening rate."""
    mic = la.resample(scene["mic"].astype(np.float32), MIC_RATE, LISTEN_RATE).astype(np.float64)
    caller = la.resample(scene["caller"].astype(np.float32), MIC_RATE, LISTEN_RATE)
    out = heard.astype(np.float64)
    n = min(len(out), len(mic))
    agent_s = float(scene["agent_s"])
    a, b = int(agent_s / 2 * LISTEN_RATE), int((agent_s - 0.1) * LISTEN_RATE)
    frame = LISTEN_RATE // 50
    start = int((agent_s + 0.5) * LISTEN_RATE)
    m = (n - start) // frame * frame

    def power(x: np.ndarray) -> np.ndarray:
        return np.mean(np.asarray(x[start : start + m], np.float64).reshape(-1, frame) ** 2, 1)

    p_caller, p_mic, p_out = power(caller), power(mic), power(out)
    pause = p_caller < p_caller.max() * 1e-4
    return {
        "agent_talking_db": db(np.mean(mic[a:b] ** 2), np.mean(out[a:b] ** 2)),
        "caller_pauses_db": db(p_mic[pause].mean(), p_out[pause].mean()),
        "pause_frames": float(pause.sum()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", default="agent_heard_livekit.wav")
    parser.add_argument("--seconds", type=float, default=6.0, help="scene length (>= 3)")
    args = parser.parse_args(argv)
    if args.seconds < 3:
        parser.error("--seconds must be >= 3")
    t0 = time.perf_counter()
    heard, scene = asyncio.run(run(args.seconds))
    sf.write(args.output, heard, LISTEN_RATE, subtype="PCM_16")
    s = score(heard, scene)
    print(f"agent: heard {len(heard) / LISTEN_RATE:.2f} s at {LISTEN_RATE} Hz -> {args.output}")
    print(f"while the agent talks: echo + noise reduced by {s['agent_talking_db']:.1f} dB")
    print(
        f"in the caller's pauses: noise reduced by {s['caller_pauses_db']:.1f} dB "
        f"({int(s['pause_frames'])} frames of 20 ms)"
    )
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
