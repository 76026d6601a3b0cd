"""The kid table (its key schema, warm throughput, point-in-time recovery and deletion
protection) and the autoscaler's lock table."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from admin.autoscale import LOCK_KEY
from foundation.aws_errors import error_code

from ._base import ProvisionError, ProvisionReport, ResourceConflictError, Waiter

KID_TABLE_HASH_KEY = "kid_id"


def ensure_table(
    dynamodb: Any,
    name: str,
    report: ProvisionReport,
    waiter: Waiter,
    *,
    deletion_protection: bool = True,
    warm_write_units: int | None = None,
) -> None:
    table = _describe_table(dynamodb, name)
    if table is None:
        warm = {} if warm_write_units is None else {"WarmThroughput": {"WriteUnitsPerSecond": warm_write_units}}
        try:
            dynamodb.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": KID_TABLE_HASH_KEY, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": KID_TABLE_HASH_KEY, "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
                DeletionProtectionEnabled=deletion_protection,
                **warm,
            )
            protected = ", deletion protection" if deletion_protection else ""
            warmed = "" if warm_write_units is None else f", warm throughput {warm_write_units:,} write units/s"
            report.did(f"created table {name} (hash key {KID_TABLE_HASH_KEY} S, on-demand{protected}{warmed})")
        except ClientError as exc:
            if error_code(exc) != "ResourceInUseException":
                raise ProvisionError(f"cannot create table {name}: {exc}") from exc
    table = waiter.until(f"table {name} ACTIVE", lambda: _active_table(dynamodb, name))
    _check_table_schema(name, table, report)


def ensure_lock_table(dynamodb: Any, name: str, report: ProvisionReport, waiter: Waiter) -> None:
    """The autoscaler's lock table (one small item per stream; nothing to protect or restore)."""
    if _describe_table(dynamodb, name) is None:
        try:
            dynamodb.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": LOCK_KEY, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": LOCK_KEY, "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            report.did(f"created table {name} (the autoscaler's lock: hash key {LOCK_KEY} S, on-demand)")
        except ClientError as exc:
            if error_code(exc) != "ResourceInUseException":
                raise ProvisionError(f"cannot create table {name}: {exc}") from exc
    waiter.until(f"table {name} ACTIVE", lambda: _active_table(dynamodb, name))


def ensure_table_warm_throughput(
    dynamodb: Any, name: str, write_units: int, report: ProvisionReport, waiter: Waiter
) -> None:
    """The table serves at least ``write_units`` write units/s at once (WarmThroughput; it can only
    be raised: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput.html)."""
    table = _describe_table(dynamodb, name) or {}
    current = int((table.get("WarmThroughput") or {}).get("WriteUnitsPerSecond") or 0)
    if current >= write_units:
        return
    try:
        dynamodb.update_table(TableName=name, WarmThroughput={"WriteUnitsPerSecond": write_units})
    except ClientError as exc:
        raise ProvisionError(f"cannot raise the warm write throughput of table {name}: {exc}") from exc
    report.did(f"table {name}: warm write throughput {current:,} -> {write_units:,} write units/s")
    waiter.until(f"table {name} ACTIVE", lambda: _active_table(dynamodb, name))


def ensure_table_protection(
    dynamodb: Any, name: str, report: ProvisionReport, *, point_in_time_recovery: bool, deletion_protection: bool
) -> None:
    """Point-in-time recovery and deletion protection on, as asked (never turned off here)."""
    table = _describe_table(dynamodb, name) or {}
    if deletion_protection and not table.get("DeletionProtectionEnabled", False):
        try:
            dynamodb.update_table(TableName=name, DeletionProtectionEnabled=True)
        except ClientError as exc:
            raise ProvisionError(f"cannot turn on deletion protection of table {name}: {exc}") from exc
        report.did(f"table {name}: deletion protection on")
    if not point_in_time_recovery:
        return
    try:
        backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        status = backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus")
        if status != "ENABLED":
            dynamodb.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
            report.did(f"table {name}: point-in-time recovery on")
    except ClientError as exc:
        # ContinuousBackupsUnavailableException: the table is new and backups are not ready yet
        raise ProvisionError(f"cannot turn on point-in-time recovery of table {name}: {exc}") from exc


def _describe_table(dynamodb: Any, name: str) -> dict[str, Any] | None:
    try:
        table: dict[str, Any] = dynamodb.describe_table(TableName=name)["Table"]
        return table
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise ProvisionError(f"cannot describe table {name}: {exc}") from exc


def _active_table(dynamodb: Any, name: str) -> dict[str, Any] | None:
    table = _describe_table(dynamodb, name)
    return table if table is not None and table.get("TableStatus") == "ACTIVE" else None


def _check_table_schema(name: str, table: dict[str, Any], report: ProvisionReport) -> None:
    keys = [(k["AttributeName"], k["KeyType"]) for k in table.get("KeySchema", [])]
    types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
    if keys != [(KID_TABLE_HASH_KEY, "HASH")] or types.get(KID_TABLE_HASH_KEY) != "S":
        raise ResourceConflictError(
            f"table {name} exists with key schema {keys} {types}; nicelist needs hash key {KID_TABLE_HASH_KEY} (S)"
        )
    billing = table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    if billing != "PAY_PER_REQUEST":
        report.note(f"table {name} is {billing}, not on-demand; left as is")
