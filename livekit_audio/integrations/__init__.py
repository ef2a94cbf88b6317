"""Bridges to other SDKs. ``livekit``: our processors, frames and streams inside ``livekit.rtc``
(needs the ``livekit`` extra). This package itself imports nothing optional."""
