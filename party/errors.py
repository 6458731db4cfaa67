"""Exceptions raised by the party engine."""


class PartyError(Exception):
    """Base class for party failures."""


class TransactionTimeout(PartyError):
    """A transaction got no answer within the rules' ``transaction_timeout`` (JS: 'Transaction timeout.')."""

    def __init__(self, message: str = "Transaction timeout.") -> None:
        super().__init__(message)


class PeerClosed(PartyError):
    """The connection to the peer ended while something was waiting on it."""


class PartyExtensionMissing(PartyError):
    """The remote does not advertise the ``party`` extension, so it cannot take part."""


class UnknownParty(PartyError):
    """A connection asked for a party this :class:`~hyperparty.party.PartyMap` does not serve."""


class UnauthorizedFeed(PartyError):
    """A peer introduced or opened a feed that the rules do not authorize."""
