"""Heavy work off a server's request threads: a bounded pool of worker processes (`pool.py`) with a
byte-bounded result cache (`cache.py`), and the computations it runs (`tasks.py`)."""

from cnnlab.jobs.cache import ByteCache
from cnnlab.jobs.pool import CANCELLED, DONE, ENDED, FAILED, QUEUED, RUNNING, Job, Lane, Pool

__all__ = ["CANCELLED", "DONE", "ENDED", "FAILED", "QUEUED", "RUNNING", "ByteCache", "Job", "Lane", "Pool"]
