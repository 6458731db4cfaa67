"""Protocol errors.  Messages match the JS hypercore-protocol 6.12.0 strings where JS has one."""

from __future__ import annotations

__all__ = [
    "ProtocolError", "MessageTooLarge", "InvalidHeader", "TooManyFeeds", "InvalidFeedMessage",
    "FirstFeedMismatch", "MissingNonce", "TooManyQueued", "RemoteTimeout",
    "BufferLimitExceeded", "HandshakeTimeout", "FrameTimeout", "RemoteStoppedReading",
]


class ProtocolError(Exception):
    """The remote broke the protocol; the stream is destroyed with this error."""


class MessageTooLarge(ProtocolError):
    def __init__(self, msg: str = "Remote message is larger than 8MB (max allowed)") -> None:
        super().__init__(msg)


class InvalidHeader(ProtocolError):
    def __init__(self, msg: str = "Remote sent invalid header") -> None:
        super().__init__(msg)


class TooManyFeeds(ProtocolError):
    def __init__(self, limit: int = 256) -> None:
        super().__init__(f"Only {limit} feeds currently supported. Open a Github issue if you need more")


class InvalidFeedMessage(ProtocolError):
    def __init__(self, msg: str = "Remote sent invalid feed message") -> None:
        super().__init__(msg)


class FirstFeedMismatch(ProtocolError):
    def __init__(self, msg: str = "First shared hypercore must be the same") -> None:
        super().__init__(msg)


class MissingNonce(ProtocolError):
    def __init__(self, msg: str = "Remote did not include a nonce") -> None:
        super().__init__(msg)


class TooManyQueued(ProtocolError):
    def __init__(self, msg: str = "Remote sent too many messages on an unopened feed") -> None:
        super().__init__(msg)


class RemoteTimeout(ProtocolError):
    def __init__(self, msg: str = "Remote timed out") -> None:
        super().__init__(msg)


class HandshakeTimeout(RemoteTimeout):
    """The remote sent no handshake within the deadline (zero-length frames or half a frame do not count)."""

    def __init__(self, msg: str = "Remote sent no handshake in time") -> None:
        super().__init__(msg)


class FrameTimeout(RemoteTimeout):
    """A frame the remote started was not completed within its deadline (a trickled frame holds memory)."""

    def __init__(self, length: int = 0, received: int = 0) -> None:
        super().__init__(f"Remote did not complete a frame in time ({received} of {length or '?'} bytes)")


class RemoteStoppedReading(RemoteTimeout):
    """Our output stayed over its budget and the remote took none of it within the deadline."""

    def __init__(self, msg: str = "Remote stopped reading") -> None:
        super().__init__(msg)


class BufferLimitExceeded(ProtocolError):
    """More bytes buffered than the configured bound (e.g. data sent before any key could be known)."""
