"""The ground floor: what every nicelist package shares, importing nothing of ours.

- ``settings``: resource names and how to reach AWS (the only reader of ``os.environ`` for them)
- ``limits``: AWS service limits, each with its source
- ``kpl``: the KPL aggregated-record format constants
- ``errors``: the one ``ConfigError``
- ``aws_errors``: an AWS error's code, message and status; throttling and transient codes
- ``backoff``: capped exponential backoff with jitter
- ``clock``: the wall clock in epoch milliseconds (timestamps; elapsed time is ``time.monotonic``)
- ``polling``: wait until a condition holds, with a deadline
- ``progress``: progress bars on stderr
- ``windowed``: a function over items in a small thread pool, results in order
- ``s3_reads``: S3 listings and bodies, errors translated into the caller's error class
"""
