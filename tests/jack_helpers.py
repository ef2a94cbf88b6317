"""A JACK server as the audio device of the device tests: checks, and port loopback.

The tests run on the real PortAudio (Debian ``libportaudio2``) talking to a JACK server on
its dummy driver (``jackd --no-realtime -d dummy -r 48000 -p 480``); ``.ci/run`` starts one.
Without a reachable server the tests skip, unless ``LIVEKIT_AUDIO_REQUIRE_JACK`` is set (CI),
in which case they fail. Ports are connected with the JACK command-line tools
(``jack_lsp``, ``jack_connect``, ``jack_disconnect``).

PortAudio registers its ports as ``<client>:in_<n>`` / ``<client>:out_<n>``, numbered per
process, and its client may be ``PortAudio-01`` when another process has a PortAudio client
on the same server. So a test finds the ports of a stream it opens as the ports that appeared
meanwhile (:class:`NewPorts`), never by a fixed name.

(Named ``jack_helpers`` rather than ``jack``: the ``JACK-Client`` package is imported as
``jack``, and pytest puts this folder first on ``sys.path``.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from types import TracebackType
from typing import Any

import pytest

#: Set (to anything non-empty) to make the device tests fail instead of skip without JACK.
REQUIRE_ENV = "LIVEKIT_AUDIO_REQUIRE_JACK"

_TOOL_TIMEOUT_S = 10.0


def _tool_env() -> dict[str, str]:
    # the tools must find the running server, never start one (libjack would otherwise try)
    return {**os.environ, "JACK_NO_START_SERVER": "1"}


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=_TOOL_TIMEOUT_S,
        env=_tool_env(),
        check=check,
    )


def jack_problem() -> str | None:
    """Why the device tests cannot run here (None if they can).

    Checks the JACK tools, a reachable server, sounddevice with the system PortAudio, and a
    JACK device in PortAudio's list (re-initialising PortAudio once if the server came up
    after sounddevice was imported).
    """
    for tool in ("jack_lsp", "jack_connect", "jack_disconnect"):
        if shutil.which(tool) is None:
            return f"{tool} not found (Debian: apt-get install jackd2)"
    try:
        probe = _run("jack_lsp", check=False)
    except subprocess.TimeoutExpired:
        return "jack_lsp timed out"
    if probe.returncode != 0:
        return "no JACK server is reachable (start: jackd --no-realtime -d dummy -r 48000 -p 480)"
    try:
        import sounddevice as sd  # type: ignore[import-untyped]
    except (ImportError, OSError) as exc:
        return f"sounddevice with the system PortAudio is not available: {exc}"
    if not _jack_devices(sd):
        sd._terminate()  # PortAudio scans devices when initialised: rescan once
        sd._initialize()
        if not _jack_devices(sd):
            return "PortAudio lists no JACK device (is libportaudio2 built with JACK?)"
    return None


def _jack_devices(sd: Any) -> list[int]:
    for api in sd.query_hostapis():
        if "JACK" in api["name"]:
            return list(api["devices"])
    return []


def require_jack() -> int:
    """The PortAudio index of the JACK device (``system``, 2 in, 2 out).

    The tests open it by index: on a machine with a sound card, PortAudio's default device
    may be another one. Skips the calling test without JACK, or fails if
    ``LIVEKIT_AUDIO_REQUIRE_JACK`` is set.
    """
    problem = jack_problem()
    if problem is None:
        import sounddevice as sd

        return _jack_devices(sd)[0]
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{REQUIRE_ENV} is set but the device tests cannot run: {problem}")
    pytest.skip(f"device tests need a JACK server: {problem}")


def jack_ports() -> set[str]:
    """Every port on the server."""
    return {line.strip() for line in _run("jack_lsp").stdout.splitlines() if line.strip()}


def connect(source: str, destination: str) -> None:
    """Connect an output port to an input port (``jack_connect``)."""
    _run("jack_connect", source, destination)


def disconnect(source: str, destination: str) -> None:
    """Disconnect two ports; no error if they were not connected."""
    _run("jack_disconnect", source, destination, check=False)


def connections(port: str) -> set[str]:
    """Ports connected to ``port``."""
    out = _run("jack_lsp", "-c", port, check=False).stdout.splitlines()
    return {line.strip() for line in out[1:] if line.startswith((" ", "\t"))}


class NewPorts:
    """The ports that appear while the ``with`` block runs (the streams it opened).

    Attributes
    ----------
    inputs, outputs : list of str
        PortAudio's capture ports (``...:in_<n>``) and playback ports (``...:out_<n>``),
        in channel order.
    """

    def __init__(self) -> None:
        self._before: set[str] = set()
        self.inputs: list[str] = []
        self.outputs: list[str] = []

    def __enter__(self) -> NewPorts:
        self._before = jack_ports()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        new = jack_ports() - self._before

        def index(port: str) -> int:
            return int(port.rsplit("_", 1)[1])

        self.inputs = sorted((p for p in new if ":in_" in p), key=index)
        self.outputs = sorted((p for p in new if ":out_" in p), key=index)


def loop_back(output_port: str, input_port: str) -> None:
    """Make ``input_port`` hear exactly ``output_port``: drop its other connections (the
    dummy driver's silent capture ports PortAudio auto-connected), then connect."""
    for other in connections(input_port):
        disconnect(other, input_port)
    connect(output_port, input_port)


class AutoLoopback:
    """Connects every playback port that appears to every capture port that appears, from a
    background thread, while the ``with`` block runs: for code that opens its streams and
    plays at once (a command), where the test cannot connect in between.

    Ports that existed before the block are left alone. Audio played before the connection
    is made (a few tens of ms) is not looped back.
    """

    def __init__(self, poll_s: float = 0.01) -> None:
        self._poll_s = poll_s
        self._before: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="AutoLoopback", daemon=True)
        self.connected: list[tuple[str, str]] = []
        self.error: BaseException | None = None

    def __enter__(self) -> AutoLoopback:
        self._before = jack_ports()
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=_TOOL_TIMEOUT_S)

    def _run(self) -> None:
        done: set[tuple[str, str]] = set()
        try:
            while not self._stop.wait(self._poll_s):
                new = jack_ports() - self._before
                outs = [p for p in new if ":out_" in p]
                ins = [p for p in new if ":in_" in p]
                for out in outs:
                    for port in ins:
                        if (out, port) not in done:
                            loop_back(out, port)
                            done.add((out, port))
                            self.connected.append((out, port))
        except Exception as exc:  # reported by the test, not lost in a thread
            self.error = exc
