"""``nicelist status``: shards, leases, lag, throttles, dead letters and alarm states on one screen."""

from ._gather import gather_status, read_leases
from ._report import Lease, PipelineStatus

__all__ = ["Lease", "PipelineStatus", "gather_status", "read_leases"]
