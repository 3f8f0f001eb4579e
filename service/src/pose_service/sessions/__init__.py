"""Many videos at once: which video a frame belongs to, and keeping the videos across restarts.

- ``router``: the live sessions and the routing rules (``SessionRouter``, ``Session``, ``Routing``).
- ``policy``: the knobs of those rules (``SessionPolicy``).
- ``codec``: one session as bytes, an explicit versioned format.
- ``store``: the SQLite file of saved sessions (opening, moving a damaged one aside, retries).
- ``persistence``: ``SessionPersistence``, the store and its saver thread, owned in one place.
"""
