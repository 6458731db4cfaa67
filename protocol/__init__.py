"""hypercore-protocol 6 (the 2019 Dat wire): sans-IO codec and stream, plus asyncio transports.

Layers: :mod:`messages` (declared with the one protobuf codec, :mod:`hyperparty.protobuf`), :mod:`cipher` (XSalsa20), :mod:`wire`
(frames + encryption, bytes in / messages out), :mod:`stream` (channels, handshake, extensions, keep-alive,
end of stream) and :mod:`transport` (TCP, in-memory pipe).
"""

from .errors import ProtocolError
from .stream import Channel, ProtocolStream
from .transport import connect_tcp, pipe, run_stream, serve_tcp, wait_closed

__all__ = ["ProtocolStream", "Channel", "ProtocolError", "connect_tcp", "serve_tcp", "pipe", "run_stream", "wait_closed"]
