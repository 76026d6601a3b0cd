"""The ground floor: what every nicelist package shares, importing nothing of ours.

- ``settings``: resource names and how to reach AWS (the only reader of ``os.environ`` for them)
- ``limits``: AWS service limits, each with its source
- ``kpl``: the KPL aggregated-record format constants
"""
