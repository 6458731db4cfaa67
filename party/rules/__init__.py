"""Rules decide everything a party does; :class:`Rules` is the base, the modules here are ready-made sets.

* :mod:`.two_writers` — every peer writes one feed and replicates every feed it hears of (the seed example);
* :mod:`.multifeed` — wire-compatible with multifeed 4.3.0 (share every feed);
* :mod:`.authorized` — hyperdb-style authorized writers rooted at the party creator's feed;
* :mod:`.hyperdb` — authorized writers whose record of trust is a hyperdb (its authorized writers are the
  party's feeds).
"""

from .base import Rules

__all__ = ["Rules"]
