"""LiveKit-format access tokens: HS256 JWTs signed with the API secret (via PyJWT).

The claims follow LiveKit's ``AccessToken``: ``iss`` is the API key, ``sub`` the participant
identity, ``name``/``metadata`` optional, ``nbf``/``exp`` the validity window, and ``video``
the grants (``roomJoin``, ``room``, ``canPublish``, ``canSubscribe``). A token minted here is
accepted by a LiveKit server with the same key and secret, and vice versa.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

__all__ = ["MIN_SECRET_BYTES", "TokenClaims", "TokenError", "mint_token", "verify_token"]

#: Shortest API secret accepted (HS256 keys shorter than the hash are weak; RFC 7518 3.2).
MIN_SECRET_BYTES = 32


class TokenError(ValueError):
    """A token failed verification (bad signature, expired, wrong key, missing grant...)."""


@dataclass(frozen=True)
class TokenClaims:
    """What a verified token grants.

    Attributes
    ----------
    identity : str
        Participant identity (``sub``).
    room : str
        Room the token may join (``video.room``).
    name, metadata : str
        Display name and metadata (may be empty).
    can_publish, can_subscribe : bool
        Publish / subscribe grants (LiveKit's defaults: True when absent).
    expires_at : float
        Expiry as a Unix timestamp in seconds.
    """

    identity: str
    room: str
    name: str
    metadata: str
    can_publish: bool
    can_subscribe: bool
    expires_at: float


def check_secret(api_secret: str) -> bytes:
    """The secret as bytes, refusing non-strings and secrets shorter than 32 bytes."""
    if not isinstance(api_secret, str):
        raise TypeError(f"api_secret must be a str, got {type(api_secret).__name__}")
    key = api_secret.encode()
    if len(key) < MIN_SECRET_BYTES:
        raise ValueError(
            f"api_secret must be at least {MIN_SECRET_BYTES} bytes for HS256, got {len(key)} "
            "(LiveKit's server refuses shorter secrets too)"
        )
    return key


def mint_token(
    api_key: str,
    api_secret: str,
    *,
    identity: str,
    room: str,
    name: str = "",
    metadata: str = "",
    ttl: float = 6 * 3600.0,
    can_publish: bool = True,
    can_subscribe: bool = True,
    now: float | None = None,
) -> str:
    """Sign a LiveKit-format access token.

    Parameters
    ----------
    api_key, api_secret : str
        Key (the ``iss`` claim) and HS256 secret (>= 32 bytes).
    identity : str
        Participant identity, non-empty.
    room : str
        Room name the token grants joining, non-empty.
    name, metadata : str, optional
        Display name and metadata.
    ttl : float, optional
        Lifetime in seconds (default 6 h, as LiveKit's ``AccessToken``); may be negative to
        make an already expired token for tests.
    can_publish, can_subscribe : bool, optional
        Grants.
    now : float or None, optional
        Issue time as a Unix timestamp (default: the current time).

    Returns
    -------
    str
        The compact JWT.

    Raises
    ------
    ValueError
        On an empty identity or room, or a short secret.
    TypeError
        On non-string arguments.
    """
    for label, value in (("api_key", api_key), ("identity", identity), ("room", room)):
        if not isinstance(value, str):
            raise TypeError(f"{label} must be a str, got {type(value).__name__}")
        if not value:
            raise ValueError(f"{label} must be non-empty")
    key = check_secret(api_secret)
    issued = time.time() if now is None else float(now)
    claims: dict[str, Any] = {
        "iss": api_key,
        "sub": identity,
        "nbf": int(issued) - 1,
        "exp": int(issued + ttl),
        "jti": uuid.uuid4().hex,  # unique, so a refreshed token always differs
        "video": {
            "roomJoin": True,
            "room": room,
            "canPublish": bool(can_publish),
            "canSubscribe": bool(can_subscribe),
        },
    }
    if name:
        claims["name"] = name
    if metadata:
        claims["metadata"] = metadata
    return jwt.encode(claims, key, algorithm="HS256")


def verify_token(token: str, api_key: str, api_secret: str) -> TokenClaims:
    """Verify signature, issuer, validity window and the room-join grant.

    Raises
    ------
    TokenError
        With the reason: not a JWT, bad signature, expired or not yet valid, issued for
        another API key, no identity, or no ``roomJoin`` grant for a named room.
    """
    if not isinstance(token, str) or not token:
        raise TokenError(f"token must be a non-empty str, got {type(token).__name__}")
    try:
        claims = jwt.decode(
            token,
            check_secret(api_secret),
            algorithms=["HS256"],
            issuer=api_key,
            options={"require": ["exp", "iss", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("token has expired") from None
    except jwt.ImmatureSignatureError:
        raise TokenError("token is not valid yet (nbf in the future)") from None
    except jwt.InvalidSignatureError:
        raise TokenError("token signature does not match this server's API secret") from None
    except jwt.InvalidIssuerError:
        raise TokenError("token was issued for another API key") from None
    except jwt.MissingRequiredClaimError as exc:
        raise TokenError(f"token lacks the {exc.claim!r} claim") from None
    except jwt.InvalidTokenError as exc:
        raise TokenError(f"token is not a valid JWT: {exc}") from None
    video = claims.get("video") or {}
    if not isinstance(video, dict) or not video.get("roomJoin"):
        raise TokenError("token has no roomJoin grant")
    room = video.get("room")
    if not isinstance(room, str) or not room:
        raise TokenError("token's roomJoin grant names no room")
    identity = claims["sub"]
    if not isinstance(identity, str) or not identity:
        raise TokenError("token has an empty identity (sub)")
    return TokenClaims(
        identity=identity,
        room=room,
        name=str(claims.get("name", "")),
        metadata=str(claims.get("metadata", "")),
        can_publish=bool(video.get("canPublish", True)),
        can_subscribe=bool(video.get("canSubscribe", True)),
        expires_at=float(claims["exp"]),
    )
