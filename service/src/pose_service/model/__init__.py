"""The process's one model instance.

- ``host``: ``ModelHost``: loading in a thread, status and readiness, warm-up, the ready and
  shutdown hooks, estimator passes in a turn (streaming batches and background work).
- ``scheduling``: the FIFO gate in front of the model and the batcher of waiting frames.
"""
