"""An agent-style worker: two participants in one in-process room, speech in, cleaned speech out.

    python examples/agent_worker.py [IN] [-o OUT]

* A :class:`~livekit_audio.LocalRoomServer` lives in this process (no network).
* ``speaker`` joins room ``demo`` and publishes a microphone track: an
  :class:`~livekit_audio.AudioSource` fed from a file (default: the speech clip shipped in
  ``livekit_audio/data``), frame by frame, ``realtime=False`` so a 22 s clip takes a fraction
  of a second instead of 22 s.
* ``agent`` joins the same room; on ``track_subscribed`` it opens
  ``AudioStream.from_track(track=..., sample_rate=16000, noise_cancellation=ApmProcessor(...))``
  (noise suppression and a high-pass filter on 10 ms blocks) and writes what it hears to
  ``OUT`` (default ``agent_heard.wav``), 16 kHz mono 16-bit PCM.
* When the file has been played out, the speaker unpublishes; the agent's remote track ends
  after delivering every frame in flight, its stream ends, and the worker prints a summary.

The processor is told which room, participant and publication it serves (its
``_on_stream_info_updated`` hook), as a hosted noise canceller needing credentials would be.

Exit status 0 on success, 2 with a one-line ``agent_worker: error: ...`` on a bad input or
output path.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.resources
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

import livekit_audio as la

ROOM = "demo"
API_KEY = "APIagentworker"
API_SECRET = "agent-worker-example-secret-0123456789"  # HS256: at least 32 bytes
LISTEN_RATE = 16000
FRAME_MS = 10
DEMO_CLIP = "allison_demo-echotest_16k.flac"
DEFAULT_OUTPUT = "agent_heard.wav"


class AgentNoiseCanceller(la.ApmProcessor):
    """An ApmProcessor that also records the room metadata the stream pushes to it."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.stream_info: dict[str, str] = {}
        self.url = ""
        self.speech_blocks = 0
        self.blocks = 0

    def _on_stream_info_updated(
        self, *, room_name: str, participant_identity: str, publication_sid: str
    ) -> None:
        self.stream_info = {
            "room": room_name,
            "participant": participant_identity,
            "publication": publication_sid,
        }

    def _on_credentials_updated(self, *, token: str, url: str) -> None:
        self.url = url  # a hosted canceller would authenticate with ``token`` here

    def _process(self, frame: la.AudioFrame) -> la.AudioFrame:
        before = self.apm.stats.frames_processed
        out = super()._process(frame)
        stats = self.apm.stats
        if stats.frames_processed != before:  # a 10 ms block was completed in this call
            self.blocks += 1
            self.speech_blocks += stats.speech_probability > 0.5
        return out


@contextlib.contextmanager
def input_path(path: str | None) -> Iterator[Path]:
    """The file to publish: ``path``, or the demo clip shipped with livekit_audio."""
    if path is not None:
        yield Path(path)
        return
    clip = importlib.resources.files("livekit_audio") / "data" / DEMO_CLIP
    with importlib.resources.as_file(clip) as p:
        yield p


async def speak(room: la.Room, sound_file: sf.SoundFile) -> float:
    """Publish ``sound_file`` as a microphone track, play it out, unpublish; seconds published."""
    rate, channels = sound_file.samplerate, sound_file.channels
    source = la.AudioSource(rate, channels, realtime=False)
    track = la.LocalAudioTrack.create_audio_track("microphone", source)
    publication = await room.local_participant.publish_track(track)  # agent subscribes now
    frame_len = rate * FRAME_MS // 1000
    sent = 0
    for block in sound_file.blocks(blocksize=frame_len * 100, dtype="int16", always_2d=True):
        for i in range(0, len(block), frame_len):
            frame = la.AudioFrame.from_ndarray(np.ascontiguousarray(block[i : i + frame_len]), rate)
            await source.capture_frame(frame)  # waits when the source's queue is full
            sent += frame.samples_per_channel
    await source.wait_for_playout()
    await room.local_participant.unpublish_track(publication.sid)  # subscribers' tracks end
    await source.aclose()
    return sent / rate


async def listen(
    track: la.RemoteAudioTrack, processor: AgentNoiseCanceller, out: sf.SoundFile
) -> tuple[float, la.AudioStreamStats]:
    """Read the track through the noise canceller into ``out``; seconds heard and stream stats."""
    stream = la.AudioStream.from_track(
        track=track,
        sample_rate=LISTEN_RATE,
        noise_cancellation=processor,
        auto_close_noise_cancellation=True,  # this stream owns its processor
    )
    heard = 0
    async with stream:
        async for event in stream:
            out.write(event.frame.to_ndarray())
            heard += event.frame.samples_per_channel
    return heard / LISTEN_RATE, stream.stats


async def run(in_path: Path, out_path: Path) -> int:
    start = time.perf_counter()
    server = la.LocalRoomServer(API_KEY, API_SECRET)
    agent, speaker = la.Room(), la.Room()
    listening: list[asyncio.Task[tuple[float, la.AudioStreamStats]]] = []
    processor = AgentNoiseCanceller(noise_suppression=True, high_pass_filter=True)

    with (
        sf.SoundFile(in_path) as src,
        sf.SoundFile(out_path, "w", samplerate=LISTEN_RATE, channels=1, subtype="PCM_16") as out,
    ):

        @agent.on("track_subscribed")
        def on_track_subscribed(
            track: la.RemoteAudioTrack,
            publication: la.RemoteTrackPublication,
            participant: la.RemoteParticipant,
        ) -> None:
            print(f"agent: subscribed to {participant.identity}'s track {publication.sid}")
            listening.append(asyncio.ensure_future(listen(track, processor, out)))

        await agent.connect(server.url, server.create_token("agent", ROOM))
        await speaker.connect(server.url, server.create_token("speaker", ROOM))
        published = await speak(speaker, src)
        heard, stats = await listening[0]
        rate, channels = src.samplerate, src.channels

    await speaker.disconnect()
    await agent.disconnect()
    await server.aclose()
    wall = time.perf_counter() - start

    info = processor.stream_info
    print(
        f"speaker: published {published:.2f} s of {in_path.name} ({rate} Hz, {channels} ch) "
        f"in room {ROOM!r}"
    )
    print(
        f"agent: heard {heard:.2f} s at {LISTEN_RATE} Hz -> {out_path} "
        f"({stats.frames_received} frames received, {stats.frames_dropped} dropped, "
        f"{stats.processor_errors} processor errors)"
    )
    share = processor.speech_blocks / processor.blocks if processor.blocks else 0.0
    print(
        f"ApmProcessor: {processor.blocks} blocks of 10 ms, speech in {share:.0%}, "
        f"noise floor {processor.apm.stats.noise_floor_dbfs:.1f} dBFS; served room "
        f"{info.get('room')!r}, participant {info.get('participant')!r}, publication "
        f"{info.get('publication')!r} at {processor.url}"
    )
    print(f"done in {wall:.2f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="agent_worker",
        description="Two participants in an in-process room: one publishes speech from a file, "
        "the other hears it through an ApmProcessor (noise suppression + high-pass filter) "
        "and writes it to a WAV file.",
    )
    parser.add_argument(
        "input",
        metavar="IN",
        nargs="?",
        default=None,
        help=f"audio file to publish (default: {DEMO_CLIP} shipped with livekit_audio)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        default=DEFAULT_OUTPUT,
        help=f"WAV file the agent writes (default: {DEFAULT_OUTPUT})",
    )
    args = parser.parse_args(argv)
    out_path = Path(args.output)
    try:
        with input_path(args.input) as in_path:
            if not in_path.is_file():
                raise ValueError(f"{in_path}: no such file")
            if not out_path.parent.is_dir():
                raise ValueError(f"cannot write {out_path}: no such directory")
            return asyncio.run(run(in_path, out_path))
    except (ValueError, sf.SoundFileError, OSError) as exc:
        print(f"agent_worker: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
