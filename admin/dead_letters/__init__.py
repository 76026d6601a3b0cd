"""``nicelist dead-letters``: list the dead letters the worker wrote, show one, redrive them.

- ``_model`` (pure): keys, hours, markers, summaries, parts, PutRecords batches
- ``_store``: the ``dead-letter/`` prefix and the create-only redrive markers in S3
- ``_listing``: ``list`` and ``show``, streaming each object's rows
- ``_redrive``: the original bytes back into the stream, each dead letter at most once
- ``_errors``: ``DeadLetterError`` and ``RedriveError``
"""

from ._errors import DeadLetterError, RedriveError
from ._listing import Listing, list_dead_letters, show_dead_letter
from ._model import (
    STATUS_CLAIMED,
    STATUS_NEW,
    STATUS_REDRIVEN,
    DeadLetterSummary,
    claimed_key,
    done_key,
    parse_hour,
)
from ._redrive import RedriveConfig, Redriver, RedriveResult
from ._store import DeadLetterStore

__all__ = [
    "STATUS_CLAIMED",
    "STATUS_NEW",
    "STATUS_REDRIVEN",
    "DeadLetterError",
    "DeadLetterStore",
    "DeadLetterSummary",
    "Listing",
    "RedriveConfig",
    "RedriveError",
    "RedriveResult",
    "Redriver",
    "claimed_key",
    "done_key",
    "list_dead_letters",
    "parse_hour",
    "show_dead_letter",
]
