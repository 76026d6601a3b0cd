"""Querying the archive: the Athena DDL (partition projection, the de-duplicating view, example
queries). ``athena`` is pure text; nothing here calls AWS."""

import logging

from .athena import AthenaNames, Statement
from .athena import render as render_athena
from .athena import statements as athena_statements

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["AthenaNames", "Statement", "athena_statements", "render_athena"]
