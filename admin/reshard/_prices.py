"""AWS list prices the capacity plan's cost uses: pure constants, USD, region us-east-1.

Prices are not limits (those live in :mod:`foundation.limits`): they change without notice and
differ per region. Each constant names its unit, the page it comes from and the date of the
figure. Where only secondary sources could be read here (the official page's price table did not
come through), the comment says so and the constant keeps the widely published figure; check
https://calculator.aws before committing money. :class:`Prices` bundles them so a caller (or a
test) can plan with another region's figures.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

#: the region every price below is for
PRICE_REGION = "us-east-1"

# --- Kinesis Data Streams, provisioned mode (https://aws.amazon.com/kinesis/data-streams/pricing/)
#: per shard per hour. The official page's "Provisioned Mode" table did not come through here;
#: $0.015 is the US East figure on AWS bills ("$0.015 per provisioned shard-hour", quoted in
#: amazon-archives/amazon-kinesis-data-visualization-sample issue #5, 2018) and in third-party
#: price tables dated 2026-07 (terrapod pricegen #1003); unchanged since 2013.
KINESIS_SHARD_HOUR_USD = 0.015
#: per million PUT payload units; same sources and caveat as the shard-hour price.
KINESIS_PUT_PAYLOAD_UNITS_PER_MILLION_USD = 0.014
#: "A PUT Payload Unit is counted in 25KB payload chunks that comprise a record" (the pricing
#: page; AWS's KB is 1,024 bytes): a 5 KB record is 1 unit, a 45 KB record 2, a 1 MB record 40.
KINESIS_PUT_PAYLOAD_UNIT_BYTES = 25 * 1024

# --- DynamoDB on-demand (https://aws.amazon.com/dynamodb/pricing/on-demand/)
#: per million write request units, Standard table class. Halved from $1.25 on 2024-11-01
#: (AWS News Blog, DynamoDB on-demand post, updated 2025-01-31, "reduced on-demand pricing");
#: $0.625 for US East as quoted by airbyte.com's DynamoDB pricing guide (2025-07-21). The
#: official price table itself did not come through here.
DYNAMODB_ON_DEMAND_WRITE_REQUEST_UNITS_PER_MILLION_USD = 0.625
#: one write request unit writes an item of up to 1 KB (1,024 bytes); a conditional write whose
#: condition fails still consumes it (the pricing page and the developer guide).
DYNAMODB_WRITE_REQUEST_UNIT_BYTES = 1024

# --- S3 Standard (https://aws.amazon.com/s3/pricing/)
#: per 1,000 PUT, COPY, POST or LIST requests: the widely published US East figure
#: (cloudkaramchari.com's request-pricing explainer; the official table did not come through).
S3_STANDARD_PUT_REQUESTS_PER_THOUSAND_USD = 0.005
#: per GB-month, first 50 TB per month, US East, "as of March 2026" (cloudburn.io, S3 pricing
#: explained, 2026-03-13); unchanged since 2016.
S3_STANDARD_GB_MONTH_USD = 0.023

# --- Athena, SQL queries (https://aws.amazon.com/athena/pricing/)
#: per TB scanned, "rounded to the nearest MB, with a 10 MB minimum" (athena.guide, Athena basics:
#: pricing model, 2020-10-15; Stanford rcpedia's Athena page says the same). Widely published
#: US East figure; the official page's table did not come through here.
ATHENA_TB_SCANNED_USD = 5.0
#: the least a query is billed for
ATHENA_MIN_BYTES_PER_QUERY = 10 * 1024 * 1024
#: the "TB" of the Athena price, taken as binary like the rest of AWS billing
TB = 1024**4
GB = 1024**3


@dataclass(frozen=True, kw_only=True)
class Prices:
    """One region's prices, defaulting to the us-east-1 constants above."""

    region: str = PRICE_REGION
    kinesis_shard_hour_usd: float = KINESIS_SHARD_HOUR_USD
    kinesis_put_payload_units_per_million_usd: float = KINESIS_PUT_PAYLOAD_UNITS_PER_MILLION_USD
    dynamodb_write_request_units_per_million_usd: float = DYNAMODB_ON_DEMAND_WRITE_REQUEST_UNITS_PER_MILLION_USD
    s3_put_requests_per_thousand_usd: float = S3_STANDARD_PUT_REQUESTS_PER_THOUSAND_USD
    s3_gb_month_usd: float = S3_STANDARD_GB_MONTH_USD
    athena_tb_scanned_usd: float = ATHENA_TB_SCANNED_USD

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if name != "region" and value < 0:
                raise ValueError(f"{name} must not be negative")

    def to_dict(self) -> dict[str, object]:
        return asdict(self)
