"""VideoFrame and VideoBufferType: the minimal raw-video types an avatar's lip-synced video needs.

Follows ``livekit.rtc.VideoFrame`` for the two buffer types this package carries (RGBA and
I420): the same constructor ``VideoFrame(width, height, type, data)``, the same properties
and the same enum values, so a ``livekit.rtc.VideoFrame`` of either type converts to ours
(:func:`as_video_frame`). There are no codecs and no pixel conversion here: a frame is a
validated byte buffer with a size and a layout, moved from a
:class:`~livekit_audio.VideoSource` to its :class:`~livekit_audio.VideoStream` readers.
"""

from __future__ import annotations

import enum
import numbers
from typing import Any

import numpy as np

__all__ = [
    "VideoBufferType",
    "VideoFrame",
    "VideoRotation",
    "as_video_frame",
    "check_rotation",
    "video_buffer_size",
]


class VideoBufferType(enum.IntEnum):
    """Pixel layout of a :class:`VideoFrame` (values match ``livekit.rtc.VideoBufferType``).

    Only the two layouts this package carries exist here:

    - ``RGBA`` (0): one plane, 4 bytes per pixel (R, G, B, A), rows of ``width * 4`` bytes.
    - ``I420`` (5): planar YUV 4:2:0, 8 bits per sample: a full-size Y plane
      (``width * height`` bytes) followed by U and V planes of
      ``ceil(width / 2) * ceil(height / 2)`` bytes each, rows unpadded.
    """

    RGBA = 0
    I420 = 5


class VideoRotation(enum.IntEnum):
    """Clockwise rotation to apply when displaying a frame (values match
    ``livekit.rtc.VideoRotation``)."""

    VIDEO_ROTATION_0 = 0
    VIDEO_ROTATION_90 = 1
    VIDEO_ROTATION_180 = 2
    VIDEO_ROTATION_270 = 3


def _as_int(value: object, name: str, what: str) -> int:
    """``value`` as an int (numpy integers too, bool refused), else TypeError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}")
    return int(value)


def _check_dimension(name: str, value: object) -> int:
    size = _as_int(value, name, "an int")
    if size <= 0:
        raise ValueError(f"{name} must be > 0 pixels, got {size}")
    return size


def _check_type(value: object) -> VideoBufferType:
    number = _as_int(value, "type", "a VideoBufferType (RGBA or I420)")
    try:
        return VideoBufferType(number)
    except ValueError:
        raise ValueError(
            f"type must be VideoBufferType.RGBA (0) or VideoBufferType.I420 (5), got {value!r}; "
            "livekit_audio carries no other video layout and converts none"
        ) from None


def check_rotation(value: object) -> VideoRotation:
    """``value`` as a :class:`VideoRotation` (an int 0-3 or the enum).

    Parameters
    ----------
    value : VideoRotation or int
        A rotation as LiveKit's ``VideoRotation`` values: 0, 1, 2, 3 for 0, 90, 180 and 270
        degrees clockwise.

    Returns
    -------
    VideoRotation

    Raises
    ------
    TypeError
        If ``value`` is not an int.
    ValueError
        If it is not one of 0, 1, 2, 3 (0, 90, 180, 270 degrees).
    """
    number = _as_int(value, "rotation", "a VideoRotation")
    try:
        return VideoRotation(number)
    except ValueError:
        raise ValueError(
            f"rotation must be a VideoRotation (0, 1, 2 or 3 for 0/90/180/270 degrees), "
            f"got {value!r}"
        ) from None


def video_buffer_size(type: VideoBufferType, width: int, height: int) -> int:
    """Bytes a frame of ``width`` x ``height`` pixels takes in layout ``type``.

    Parameters
    ----------
    type : VideoBufferType
        ``RGBA`` or ``I420`` (validated by the caller).
    width, height : int
        Size in pixels, > 0 (validated by the caller).

    Returns
    -------
    int
        ``RGBA``: ``width * height * 4``. ``I420``: ``width * height + 2 * ceil(width / 2)
        * ceil(height / 2)`` (odd sizes round the chroma planes up, as libyuv and LiveKit
        do). Rows are unpadded (stride = width), as LiveKit's frames built from bytes.
    """
    if type is VideoBufferType.RGBA:
        return width * height * 4
    return width * height + 2 * ((width + 1) // 2) * ((height + 1) // 2)


class VideoFrame:
    """One raw video frame: a byte buffer of a given size and layout.

    Follows ``livekit.rtc.VideoFrame(width, height, type, data)`` for RGBA and I420.

    Parameters
    ----------
    width, height : int
        Frame size in pixels, > 0 each.
    type : VideoBufferType or int
        Pixel layout: ``VideoBufferType.RGBA`` (0) or ``VideoBufferType.I420`` (5), see
        :class:`VideoBufferType`. LiveKit's other layouts (BGRA, NV12, ...) are refused.
    data : bytes, bytearray, memoryview or any C-contiguous buffer
        The pixels, exactly :func:`video_buffer_size` bytes (for example a ``(height, width,
        4)`` uint8 array for RGBA). The frame keeps a reference, not a copy, like
        LiveKit's: do not modify the buffer while the frame is queued somewhere
        (:meth:`VideoSource.capture_frame <livekit_audio.VideoSource.capture_frame>` takes its
        own copy).

    Raises
    ------
    TypeError
        If ``width``/``height`` are not ints, ``type`` is not an int or enum member, or
        ``data`` is not a buffer.
    ValueError
        If a size is <= 0, ``type`` is another layout than RGBA/I420, or ``data`` is not
        C-contiguous or not exactly the expected number of bytes (the message names both).

    Examples
    --------
    >>> frame = VideoFrame(4, 2, VideoBufferType.RGBA, bytes(4 * 2 * 4))
    >>> frame.data.nbytes
    32
    """

    __slots__ = ("_width", "_height", "_type", "_data")

    def __init__(self, width: int, height: int, type: VideoBufferType | int, data: Any) -> None:
        self._width = _check_dimension("width", width)
        self._height = _check_dimension("height", height)
        self._type = _check_type(type)
        try:
            view = memoryview(data)
        except TypeError:
            raise TypeError(
                f"data must be a bytes-like buffer, got {data.__class__.__name__}"
            ) from None
        if not view.c_contiguous:
            raise ValueError("data must be a C-contiguous buffer, got a strided view")
        expected = video_buffer_size(self._type, self._width, self._height)
        if view.nbytes != expected:
            raise ValueError(
                f"data size mismatch for a {self._width}x{self._height} {self._type.name} "
                f"frame: expected {expected} bytes, got {view.nbytes}"
            )
        self._data = view.cast("B") if (view.format != "B" or view.ndim != 1) else view

    @property
    def width(self) -> int:
        """Width in pixels."""
        return self._width

    @property
    def height(self) -> int:
        """Height in pixels."""
        return self._height

    @property
    def type(self) -> VideoBufferType:
        """Pixel layout (:class:`VideoBufferType`)."""
        return self._type

    @property
    def data(self) -> memoryview:
        """The pixels as a flat uint8 memoryview (format ``"B"``), the caller's buffer
        itself (read-only if that buffer is)."""
        return self._data

    def get_plane(self, plane_nth: int) -> memoryview | None:
        """One plane of an I420 frame, as ``livekit.rtc.VideoFrame.get_plane``.

        Parameters
        ----------
        plane_nth : int
            0 for Y, 1 for U, 2 for V.

        Returns
        -------
        memoryview or None
            A flat uint8 view into :attr:`data` (``width * height`` bytes for Y,
            ``ceil(width/2) * ceil(height/2)`` for U and V); None for an index out of range
            and, as in LiveKit, for every index of an RGBA frame (a packed layout has no
            planes).

        Raises
        ------
        TypeError
            If ``plane_nth`` is not an int.
        """
        if isinstance(plane_nth, bool) or not isinstance(plane_nth, numbers.Integral):
            raise TypeError(f"plane_nth must be an int, got {type(plane_nth).__name__}")
        if self._type is not VideoBufferType.I420 or not 0 <= plane_nth <= 2:
            return None
        luma = self._width * self._height
        chroma = ((self._width + 1) // 2) * ((self._height + 1) // 2)
        start = 0 if plane_nth == 0 else luma + (plane_nth - 1) * chroma
        return self._data[start : start + (luma if plane_nth == 0 else chroma)]

    def __repr__(self) -> str:
        return f"VideoFrame(width={self._width}, height={self._height}, type={self._type.name})"


def as_video_frame(frame: Any) -> VideoFrame:
    """``frame`` as our :class:`VideoFrame`, validated.

    Our frames are returned as they are; any other object with ``width``, ``height``,
    ``type`` and ``data`` (for instance a ``livekit.rtc.VideoFrame`` in RGBA or I420) is
    wrapped without copying its buffer.

    Raises
    ------
    TypeError
        If ``frame`` lacks those attributes (the message names its type), or they have the
        wrong types.
    ValueError
        As :class:`VideoFrame`.
    """
    if isinstance(frame, VideoFrame):
        return frame
    try:
        width, height, kind, data = frame.width, frame.height, frame.type, frame.data
    except AttributeError:
        raise TypeError(
            f"expected a VideoFrame (width, height, type, data), got {type(frame).__name__}"
        ) from None
    return VideoFrame(width, height, kind, data)
