"""Soak of the async layer: a real-time room, processing subscribers, mixers, object churn.

    python benchmarks/soak.py [--seconds 120] [--subscribers 2] [--seed 1] [--json PATH]
                              [--plot PNG]

One asyncio process, real time: a ``LocalRoomServer`` room with 8 publishers (talkspurts of
real speech and pauses) and ``--subscribers`` listeners, each reading every track through
``AudioStream(track, sample_rate=16000, frame_size_ms=10, noise_cancellation=ApmProcessor(
noise_suppression=True, high_pass_filter=True))`` into an ``AudioMixer``, plus an unprocessed
audit stream per track; meanwhile resamplers, APMs, streams and whole rooms are created and
closed in loops. Exit status 1 unless 0 samples were lost, 0 objects are alive after close
and RSS grew <= 2 MB after warm-up; benchmarks/README.md ("soak.py") defines each check.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import hashlib
import itertools
import math
import os
import random
import sys
import time
import types
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from _common import SPEECH_DIR, format_table, jsonable, progress, read_wav, write_report
from _machine import machine_info, machine_summary

import livekit_audio as la

RATE, LISTEN_RATE, PUBLISHERS, ROOM = 48000, 16000, 8, "soak"
FRAME = RATE // 100
API_KEY, API_SECRET = "APIsoak", "soak-benchmark-secret-0123456789abcdef"
NOT_SPEECH = "codec2_david4_8k.wav"  # stationary noise, not a voice (shared/data/README.md)
RSS_LIMIT_MB = 2.0
CHURN_GAP_S = {"resampler": 0.02, "apm": 0.02, "stream": 0.01, "room": 0.01}
CHURN_RATES = (8000, 16000, 24000, 44100, 48000)
NS_HPF = {"noise_suppression": True, "high_pass_filter": True}
LINK_ROW = (  # a row of the per-link table, from a link's results
    "{publisher}|{listener}|{voice}|{captured_frames}|{audit_audio_frames}/{captured_audio_frames}"
    " {ok}|{frames_received}|{heard_samples}|{frames_dropped}/{processor_errors}"
)


def rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class Tracker:
    """Weak references to every object made, by kind (dead ones drop out: bounded)."""

    def __init__(self) -> None:
        self.objs: weakref.WeakValueDictionary[tuple[str, int], Any] = weakref.WeakValueDictionary()
        self.serial = itertools.count()
        self.created: collections.Counter[str] = collections.Counter()

    def __call__(self, obj: Any, kind: str | None = None) -> Any:
        kind = kind or type(obj).__name__
        self.objs[(kind, next(self.serial))] = obj
        self.created[kind] += 1
        return obj


@dataclass
class Tally:
    """10 ms frames seen at one point: all of them, the non-silent ones and their digest."""

    frames: int = 0
    audio: int = 0
    samples: int = 0
    digest: Any = field(default_factory=hashlib.blake2b)

    def add(self, x: np.ndarray) -> None:
        self.frames += 1
        self.samples += len(x)
        if x.any():
            self.audio += 1
            self.digest.update(x)


@dataclass
class Link:
    """What one listener opened on one publisher's track."""

    stream: la.AudioStream
    tap: la.AudioStream
    heard: Tally = field(default_factory=Tally)  # processed, as the mixer read it
    tapped: Tally = field(default_factory=Tally)  # 48 kHz, as the track played it out


async def counted(stream: la.AudioStream, tally: Tally) -> Any:
    async for event in stream:
        tally.add(event.frame.to_ndarray()[:, 0])
        yield event.frame


async def audit(stream: la.AudioStream, tally: Tally) -> None:
    async for _ in counted(stream, tally):
        pass


def processed_stream(track: Any, keep: Tracker) -> la.AudioStream:
    nc = keep(la.ApmProcessor(**NS_HPF))
    return keep(
        la.AudioStream(track, sample_rate=LISTEN_RATE, frame_size_ms=10, noise_cancellation=nc)
    )


class Listener:
    """A participant that processes, audits and mixes every track in the room."""

    def __init__(self, identity: str, keep: Tracker) -> None:
        self.identity, self.keep = identity, keep
        self.room, self.mixer = keep(la.Room()), keep(la.AudioMixer(LISTEN_RATE, 1))
        self.links: dict[str, Link] = {}
        self.tracks: dict[str, la.RemoteAudioTrack] = {}
        self.mixed = 0
        self.tasks: list[asyncio.Task[None]] = []
        self.room.on("track_subscribed", self._on_track)

    def _on_track(self, track: Any, publication: Any, participant: Any) -> None:
        for obj in (track, publication, participant):
            self.keep(obj)
        stream = processed_stream(track, self.keep)
        link = Link(stream, self.keep(la.AudioStream(track), "AudioStream (audit)"))
        self.links[participant.identity] = link
        self.tracks[participant.identity] = track
        self.mixer.add_stream(counted(stream, link.heard))
        self.tasks.append(asyncio.create_task(audit(link.tap, link.tapped)))

    async def _drain_mixer(self) -> None:
        async for frame in self.mixer:
            self.mixed += frame.samples_per_channel

    async def connect(self, server: la.LocalRoomServer) -> None:
        await self.room.connect(server.url, server.create_token(self.identity, ROOM))
        self.tasks.append(asyncio.create_task(self._drain_mixer()))

    async def close(self) -> None:
        for link in self.links.values():
            await link.stream.aclose()
            await link.tap.aclose()
        await self.mixer.aclose()
        await self.room.disconnect()


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less if ``stop`` is set meanwhile."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except asyncio.TimeoutError:
        pass


async def talk(
    source: la.AudioSource, voice: np.ndarray, rng: random.Random, stop: asyncio.Event, sent: Tally
) -> None:
    """Talkspurts of 0.4-2.5 s of ``voice``, pauses of 0.2-1.5 s (nothing captured)."""
    pos = rng.randrange(len(voice) - FRAME)
    while not stop.is_set():
        for _ in range(rng.randint(40, 250)):
            if stop.is_set():
                break
            pos = 0 if pos + FRAME > len(voice) else pos
            x, pos = voice[pos : pos + FRAME], pos + FRAME
            await source.capture_frame(la.AudioFrame.from_ndarray(x, RATE))
            sent.add(x)
        await source.wait_for_playout()
        await pause(stop, rng.uniform(0.2, 1.5))


class Churn:
    """The create/close loops, one per kind; each cycle's objects are tracked, then dropped."""

    def __init__(self, server: Any, listener: Listener, x: np.ndarray, seed: int, keep: Tracker):
        self.server, self.listener, self.x, self.keep = server, listener, x, keep
        self.rng = random.Random(seed)
        self.cycles = collections.Counter(dict.fromkeys(CHURN_GAP_S, 0))
        self.errors: collections.Counter[str] = collections.Counter()
        self.first_errors: list[str] = []

    async def run(self, kind: str, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await getattr(self, kind)()
                self.cycles[kind] += 1
            except Exception as exc:  # noqa: BLE001 - counted and reported; the soak goes on
                self.errors[kind] += 1
                if len(self.first_errors) < 5:
                    self.first_errors.append(f"{kind} cycle {self.cycles[kind]}: {exc!r}")
            await asyncio.sleep(CHURN_GAP_S[kind])

    def frame(self, k: int, n: int, rate: int, channels: int = 1) -> la.AudioFrame:
        return la.AudioFrame.from_ndarray(
            np.repeat(self.x[k * n : (k + 1) * n, None], channels, axis=1), rate
        )

    async def resampler(self) -> None:
        rate_in, rate_out = self.rng.sample(CHURN_RATES, 2)
        channels = self.rng.choice((1, 2))
        rs = self.keep(la.AudioResampler(rate_in, rate_out, num_channels=channels))
        for k in range(self.rng.randint(1, 8)):
            rs.push(self.frame(k, rate_in // 100, rate_in, channels))
        rs.flush()

    async def apm(self) -> None:
        rate = self.rng.choice((16000, 32000, 48000))
        aec, agc = (self.rng.random() < 0.5 for _ in range(2))
        apm = self.keep(
            la.AudioProcessingModule(echo_cancellation=aec, auto_gain_control=agc, **NS_HPF)
        )
        for k in range(self.rng.randint(1, 5)):
            if aec:
                apm.process_reverse_stream(self.frame(k + 1, rate // 100, rate))
            apm.process_stream(self.frame(k, rate // 100, rate))

    async def stream(self) -> None:
        tracks = self.listener.tracks
        stream = processed_stream(tracks[self.rng.choice(sorted(tracks))], self.keep)
        try:
            for _ in range(self.rng.randint(1, 5)):
                await asyncio.wait_for(anext(stream), 1.0)
        finally:
            await stream.aclose()

    async def room(self) -> None:
        name, url, token = f"churn-{self.cycles['room']}", self.server.url, self.server.create_token
        talker, hearer = self.keep(la.Room()), self.keep(la.Room())
        subscribed = asyncio.get_running_loop().create_future()
        hearer.on("track_subscribed", lambda t, *_: subscribed.done() or subscribed.set_result(t))
        source, stream = self.keep(la.AudioSource(RATE, 1)), None
        try:
            await hearer.connect(url, token("hearer", name))
            await talker.connect(url, token("talker", name), la.RoomOptions(auto_subscribe=False))
            mic = self.keep(la.LocalAudioTrack.create_audio_track("mic", source))
            self.keep(await talker.local_participant.publish_track(mic))
            remote = self.keep(await asyncio.wait_for(subscribed, 1.0))
            participant = self.keep(hearer.remote_participants["talker"])
            self.keep(next(iter(participant.track_publications.values())))
            stream = self.keep(la.AudioStream.from_track(track=remote, sample_rate=LISTEN_RATE))
            for k in range(3):
                await source.capture_frame(self.frame(k, FRAME, RATE))
            for _ in range(30):  # silence until the talker's audio arrives
                if (await asyncio.wait_for(anext(stream), 1.0)).frame.to_ndarray().any():
                    break
            else:
                raise AssertionError("the hearer heard nothing in 30 frames")
        finally:
            if stream is not None:
                await stream.aclose()
            await talker.disconnect()
            await hearer.disconnect()
            await source.aclose()


def load_voices(rng: random.Random) -> tuple[list[str], list[np.ndarray]]:
    """The 8 longest recordings (not the noise one) in a seeded order, int16 at 48 kHz."""
    files = sorted(SPEECH_DIR.glob("*.wav"), key=lambda p: (-p.stat().st_size, p.name))
    names = [p.name for p in files if p.name != NOT_SPEECH] * PUBLISHERS  # (if fewer than 8)
    names = names[:PUBLISHERS]
    rng.shuffle(names)
    voices = []
    for name in names:
        x, rate = read_wav(SPEECH_DIR / name)
        voices.append(x if rate == RATE else la.resample(x, rate, RATE))
    return names, voices


async def sample_rss(samples: list[Any], churn: Churn, stop: asyncio.Event) -> float:
    """RSS and churn counts every second until ``stop``; returns the largest timer lag (s)."""
    t0, lag = time.monotonic(), 0.0
    for k in itertools.count():
        now = time.monotonic()
        lag = max(lag, now - (t0 + k))
        samples.append((now - t0, rss_mb(), dict(churn.cycles)))
        if k % 10 == 0:
            progress(f"{now - t0:6.1f} s  RSS {samples[-1][1]:7.2f} MB  {dict(churn.cycles)}")
        if stop.is_set():
            return lag
        await pause(stop, t0 + k + 1 - time.monotonic())


async def soak(args: argparse.Namespace, keep: Tracker) -> dict[str, Any]:
    """The whole run. Returns plain data only: nothing it made outlives the event loop."""
    rng = random.Random(args.seed)
    names, voices = load_voices(rng)
    server = keep(la.LocalRoomServer(API_KEY, API_SECRET))
    listeners = [Listener(f"listener-{i}", keep) for i in range(args.subscribers)]
    for listener in listeners:
        await listener.connect(server)
    talkers, sources, pubs, no_sub = [], [], [], la.RoomOptions(auto_subscribe=False)
    for i in range(PUBLISHERS):
        talkers.append(room := keep(la.Room()))
        await room.connect(server.url, server.create_token(f"talker-{i}", ROOM), no_sub)
        sources.append(source := keep(la.AudioSource(RATE, 1)))
        mic = keep(la.LocalAudioTrack.create_audio_track(f"mic-{i}", source))
        pubs.append(keep(await room.local_participant.publish_track(mic)))
    for _ in range(100):  # every listener has every track before any audio flows
        if all(len(li.links) == PUBLISHERS for li in listeners):
            break
        await asyncio.sleep(0.01)
    for listener in listeners:
        listener.mixer.end_input()

    stop, samples, sent = asyncio.Event(), [], [Tally() for _ in range(PUBLISHERS)]
    churn = Churn(server, listeners[0], voices[0][: RATE // 10], args.seed, keep)
    sampler = asyncio.create_task(sample_rss(samples, churn, stop))
    tasks = [asyncio.create_task(churn.run(kind, stop)) for kind in CHURN_GAP_S]
    tasks += [
        asyncio.create_task(talk(s, v, random.Random(rng.random()), stop, t))
        for s, v, t in zip(sources, voices, sent, strict=True)
    ]
    await asyncio.sleep(args.seconds)
    stop.set()
    await asyncio.gather(*tasks)  # the talkers have played out, the churn cycles are done
    max_lag = await sampler
    drops = {li.identity: server.subscriber_drops(ROOM, li.identity) for li in listeners}
    rooms_left = sorted(set(server.rooms) - {ROOM})
    # unpublished, every listener's stream plays out what it got and ends by itself
    for room, source, pub in zip(talkers, sources, pubs, strict=True):
        await room.local_participant.unpublish_track(pub.sid)
        await source.aclose()
    ended = [t for li in listeners for t in li.tasks]
    _, pending = await asyncio.wait(ended, timeout=10)
    for obj in (*listeners, *talkers):
        await (obj.close() if isinstance(obj, Listener) else obj.disconnect())
    await server.aclose()
    await asyncio.sleep(0.05)  # let closing callbacks run
    tasks_left = [t.get_name() for t in asyncio.all_tasks() if t is not asyncio.current_task()]

    def link_row(listener: Listener, i: int) -> dict[str, Any]:
        link = listener.links[f"talker-{i}"]
        st = link.stream.stats
        return {
            "listener": listener.identity,
            "publisher": f"talker-{i}",
            "voice": names[i],
            "captured_frames": sent[i].frames,
            "captured_audio_frames": sent[i].audio,
            "audit_audio_frames": link.tapped.audio,
            "audit_frames": link.tapped.frames,
            "audit_intact": link.tapped.audio == sent[i].audio
            and link.tapped.digest.digest() == sent[i].digest.digest(),
            "frames_received": st.frames_received,
            "frames_dropped": st.frames_dropped,
            "processor_errors": st.processor_errors,
            "heard_samples": link.heard.samples,
        }

    return {
        "samples": samples,
        "max_timer_lag_s": max_lag,
        "server_drops": drops,
        "links": [link_row(li, i) for li in listeners for i in range(PUBLISHERS)],
        "mixed": {li.identity: li.mixed for li in listeners},
        "streams_ended": not pending,
        "rooms_left": rooms_left,
        "tasks_left": tasks_left,
        "churn_errors": dict(churn.errors),
        "churn_first_errors": churn.first_errors,
    }


def check(res: dict[str, Any]) -> dict[str, list[str]]:
    """The problems found, per verdict (an empty list passes)."""
    lost = []
    for e in res["links"]:
        where, expected = "{publisher} -> {listener}: ".format(**e), e["frames_received"] * 160
        if not e["audit_intact"]:
            lost.append(where + "{audit_audio_frames}/{captured_audio_frames} intact".format(**e))
        if e["frames_received"] != e["audit_frames"]:
            lost.append(where + "{frames_received} frames in, audit {audit_frames}".format(**e))
        if e["frames_dropped"] or e["processor_errors"]:
            lost.append(where + "{frames_dropped} dropped, {processor_errors} errors".format(**e))
        if e["heard_samples"] != expected:
            lost.append(where + f"mixer read {e['heard_samples']} samples, expected {expected}")
    for who, mixed in res["mixed"].items():
        longest = max(e["heard_samples"] for e in res["links"] if e["listener"] == who)
        if mixed < longest:
            lost.append(f"{who}: mixer returned {mixed} samples, its longest stream {longest}")
    lost += [f"server dropped {n} frames for {who}" for who, n in res["server_drops"].items() if n]
    if not res["streams_ended"]:
        lost.append("the listeners' streams did not end within 10 s of the unpublish")
    alive = [f"{n} {kind} alive" for kind, n in sorted(res["alive"].items())]
    alive += [f"task left: {t}" for t in res["tasks_left"]]
    alive += [f"server room left: {r}" for r in res["rooms_left"]]
    grew = res["rss_growth_mb"]
    rss = [f"grew {grew:.2f} MB after warm-up"] if grew > RSS_LIMIT_MB else []
    churn = [f"{n} {kind} cycles failed" for kind, n in res["churn_errors"].items()]
    return {"samples lost": lost, "objects alive": alive, "RSS growth": rss, "churn": churn}


def report(res: dict[str, Any], info: dict[str, Any]) -> list[str]:
    lines = ["Soak: real-time room, processing subscribers, mixers, churn", ""]
    lines += [*machine_summary(info), ""]
    samples, base, kinds = res["samples"], res["rss_warm_mb"], list(CHURN_GAP_S)
    step = max(1, math.ceil((len(samples) - 1) / 24))
    shown = samples[::step] + ([samples[-1]] if (len(samples) - 1) % step else [])
    rows = [[f"{s['t_s']:.0f}", f"{s['rss_mb']:.2f}", f"{s['rss_mb'] - base:+.2f}"] for s in shown]
    rows = [r + [str(s["cycles"][k]) for k in kinds] for r, s in zip(rows, shown, strict=True)]
    lines += format_table(["time s", "RSS MB", "vs warm-up", *(f"{k} cycles" for k in kinds)], rows)
    lines += [
        "",
        f"RSS at end of warm-up ({res['warmup_s']:.0f} s) {base:.2f} MB, max growth "
        f"after it {res['rss_growth_mb']:+.2f} MB (limit {RSS_LIMIT_MB:g} MB); after close "
        f"and gc {res['rss_end_mb']:.2f} MB; largest sampler timer lag "
        f"{res['max_timer_lag_s'] * 1000:.0f} ms",
        "",
    ]
    rows = [
        LINK_ROW.format(**e, ok="yes" if e["audit_intact"] else "NO").split("|")
        for e in res["links"]
    ]
    head = "publisher|listener|voice|captured|audio frames in|frames in|samples heard|drop/err"
    lines += format_table(head.split("|"), rows)
    mixed = ", ".join(f"{k} {v / LISTEN_RATE:.2f} s" for k, v in res["mixed"].items())
    made = ", ".join(f"{n} {k}" for k, n in sorted(res["created"].items()))
    lines += ["", f"mixed per listener: {mixed}", f"objects made: {made}"]
    lines += [f"live: {r}" for r in res["referrers"]]
    lines += [f"churn error: {e}" for e in res["churn_first_errors"]] + [""]
    for name, v in res["verdicts"].items():
        lines += [f"{name:14s} {'PASS' if v['pass'] else 'FAIL'}"]
        lines += [f"  {p}" for p in v["problems"][:20]]
    return lines


def plot(res: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4))
    t, rss = ([s[k] for s in res["samples"]] for k in ("t_s", "rss_mb"))
    ax.plot(t, rss, "o-", markersize=2, label="RSS")
    ax.axvline(res["warmup_s"], color="grey", linestyle=":", label="end of warm-up")
    ax.axhline(res["rss_warm_mb"] + RSS_LIMIT_MB, color="red", linestyle="--", label="limit")
    ax.set(xlabel="time (s)", ylabel="RSS (MB)", title="benchmarks/soak.py")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def referrers(obj: Any) -> str:
    """What holds ``obj``, by type (an instance dict named after its owner; frames left out)."""
    names = set()
    for r in gc.get_referrers(obj):
        if isinstance(r, types.FrameType):
            continue
        owner = [type(o).__name__ for o in gc.get_referrers(r) if getattr(o, "__dict__", 0) is r]
        names.add(f"{owner[0]}.__dict__" if owner else type(r).__name__)
    return ", ".join(sorted(names))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=120.0, help="run length (default 120)")
    p.add_argument("--subscribers", type=int, default=2, help="listeners, >= 1 (default 2)")
    p.add_argument("--seed", type=int, default=1, help="seed of every choice (default 1)")
    p.add_argument("--json", type=Path, metavar="PATH", help="also write every number as JSON")
    p.add_argument("--plot", type=Path, metavar="PNG", help="also plot RSS against time")
    args = p.parse_args(argv)
    if args.subscribers < 1 or args.seconds <= 0:
        p.error("--subscribers must be >= 1 and --seconds > 0")
    if not any(f.name != NOT_SPEECH for f in SPEECH_DIR.glob("*.wav")):
        print(f"soak.py: error: no speech recordings in {SPEECH_DIR}", file=sys.stderr)
        return 2
    info, keep = machine_info(), Tracker()
    res = asyncio.run(soak(args, keep))
    gc.collect()
    alive, held = collections.Counter(), set()
    for key in list(keep.objs.keys()):
        if (obj := keep.objs.get(key)) is not None:
            alive[key[0]] += 1
            held.add(f"{key[0]} <- {referrers(obj)}")
        del obj
    res["alive"], res["referrers"] = dict(alive), sorted(held)
    res["created"], res["rss_end_mb"] = dict(keep.created), rss_mb()
    res["samples"] = [{"t_s": t, "rss_mb": r, "cycles": c} for t, r, c in res["samples"]]
    res["warmup_s"] = warm = max(0.2 * args.seconds, min(10.0, 0.5 * args.seconds))
    after = [s["rss_mb"] for s in res["samples"] if s["t_s"] >= warm] or [res["rss_end_mb"]]
    res["rss_warm_mb"], res["rss_growth_mb"] = after[0], max(after) - after[0]
    res["config"] = {"seconds": args.seconds, "subscribers": args.subscribers, "seed": args.seed}
    res["verdicts"] = {k: {"pass": not v, "problems": v} for k, v in check(res).items()}
    write_report(report(res, info), jsonable(res), info, args.json)
    if args.plot is not None:
        plot(res, args.plot)
    failed = [k for k, v in res["verdicts"].items() if not v["pass"]]
    print(f"\nsoak: {'FAIL: ' + ', '.join(failed) if failed else 'PASS'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
