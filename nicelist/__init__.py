"""The ``nicelist`` command line: ``cli`` dispatches to one module per sub-command in ``commands``
(what the commands share, names, limits, AWS settings, lives in ``foundation``)."""
