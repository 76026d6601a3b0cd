"""Limits mode: moto's DynamoDB refuses writes over a table's write capacity as DynamoDB does.

Each write asks a :class:`TableLimiter` first (capacity from the table: provisioned units, or
on-demand warm/maximum throughput; see ``_dynamodb_limits``), and is refused per API as the API
reference documents:

- PutItem, UpdateItem, DeleteItem: the call fails with ProvisionedThroughputExceededException
  (HTTP 400), with ``ThrottlingReasons`` naming the reason and the table's ARN
  (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html,
  API_UpdateItem.html, API_DeleteItem.html, "Errors"; API_ThrottlingReason.html).
- BatchWriteItem: the items over capacity come back in ``UnprocessedItems`` and the others are
  written; only when none of the items could be processed does the call fail with
  ProvisionedThroughputExceededException
  (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html).
- BatchExecuteStatement: each statement over capacity fails on its own with ``ThrottlingError``
  in its ``Error`` while the call answers HTTP 200 (API_BatchExecuteStatement.html,
  API_BatchStatementError.html; done by ``_dynamodb_fixes.partiql_batch`` through the gate
  installed here).

Whole-call throttling of any other operation is the fault table's job (``_faults``). Not limited:
ExecuteStatement, TransactWriteItems, statements moto itself answers, reads.

``OnDemandThroughput`` of CreateTable/UpdateTable is kept on the table (moto 5.2.5 drops it).
Installed in the server process only (:func:`install`), once, after the DynamoDB fixes.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from ._dynamodb_limits import PROVISIONED_EXCEEDED, TableCapacity, TableLimiter, item_size, write_units
from ._kinesis_fixes._patching import patch

_PATCHED = "_localaws_dynamodb_limits"
_ON_DEMAND = "_localaws_on_demand_throughput"
ERROR_TYPE = "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"
#: DynamoDB's message for a provisioned table (and, reworded by AWS, an on-demand one)
PROVISIONED_MESSAGE = (
    "The level of configured provisioned throughput for the table was exceeded. "
    "Consider increasing your provisioning level with the UpdateTable API."
)
ON_DEMAND_MESSAGE = (
    "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically "
    "scaling your table or index so please try again shortly."
)


def capacity_of(table: Any) -> TableCapacity:
    """The write capacity moto's ``Table`` describes."""
    on_demand = getattr(table, _ON_DEMAND, None) or {}
    warm = (getattr(table, "warm_throughput", None) or {}).get("WriteUnitsPerSecond")
    return TableCapacity.from_description(
        {
            "BillingModeSummary": {"BillingMode": getattr(table, "billing_mode", None) or "PROVISIONED"},
            "ProvisionedThroughput": getattr(table, "throughput", None) or {},
            "WarmThroughput": {"WriteUnitsPerSecond": warm},
            "OnDemandThroughput": on_demand,
        }
    )


def message_for(reason: str) -> str:
    return PROVISIONED_MESSAGE if reason == PROVISIONED_EXCEEDED else ON_DEMAND_MESSAGE


class Gate:
    """Asks the limiter for one write to a moto table; the hook's and the PartiQL fix's gate."""

    def __init__(self, limiter: TableLimiter) -> None:
        self.limiter = limiter

    def admit_reason(self, backend: Any, table: Any, key: dict[str, Any], *item_bytes: int) -> str | None:
        hash_value = json.dumps(key.get(table.hash_key_attr), sort_keys=True, default=str)
        key_of_table = (backend.account_id, backend.region_name, table.name)
        return self.limiter.admit(key_of_table, capacity_of(table), hash_value, write_units(*item_bytes))

    def admit(self, backend: Any, table: Any, key: dict[str, Any], *item_bytes: int) -> str | None:
        reason = self.admit_reason(backend, table, key, *item_bytes)
        return None if reason is None else message_for(reason)

    def wrote(self, backend: Any, table: Any, items: int = 1) -> None:
        self.limiter.wrote((backend.account_id, backend.region_name, table.name), items)

    def misdirected(self, backend: Any, table: Any) -> None:
        self.limiter.misdirected((backend.account_id, backend.region_name, table.name))


def install(limiter: TableLimiter) -> Gate:
    """Route every DynamoDB write of this process through ``limiter``."""
    from moto.dynamodb.responses import DynamoHandler

    from ._dynamodb_fixes import partiql_batch

    if getattr(DynamoHandler, _PATCHED, False):
        raise RuntimeError("DynamoDB limits are already installed in this process")
    gate = Gate(limiter)
    patch(DynamoHandler, "put_item", _guarded(gate, DynamoHandler.put_item, _put_sizes))
    patch(DynamoHandler, "update_item", _guarded(gate, DynamoHandler.update_item, _update_sizes))
    patch(DynamoHandler, "delete_item", _guarded(gate, DynamoHandler.delete_item, _delete_sizes))
    patch(DynamoHandler, "batch_write_item", _batch_write_item(gate, DynamoHandler.batch_write_item))
    patch(DynamoHandler, "create_table", _keeping_on_demand(DynamoHandler.create_table))
    patch(DynamoHandler, "update_table", _keeping_on_demand(DynamoHandler.update_table))
    patch(DynamoHandler, _PATCHED, True)
    partiql_batch.set_statement_gate(gate)
    return gate


@functools.cache
def _exceeded_class() -> type[Exception]:
    """moto's JSON error for ProvisionedThroughputExceededException with ThrottlingReasons (made
    when first needed: moto is imported in the server process only)."""
    from moto.core.exceptions import JsonRESTError

    class ProvisionedThroughputExceeded(JsonRESTError):
        def __init__(self, reason: str, table_arn: str) -> None:
            super().__init__(ERROR_TYPE, message_for(reason))
            self.description = json.dumps(
                {
                    "__type": ERROR_TYPE,
                    "message": self.message,
                    "ThrottlingReasons": [{"reason": reason, "resource": table_arn}],
                }
            )

    return ProvisionedThroughputExceeded


def throughput_exceeded(reason: str, table_arn: str) -> Exception:
    """The error a write over capacity fails with (HTTP 400), naming the reason and the table."""
    return _exceeded_class()(reason, table_arn)


# -- PutItem, UpdateItem, DeleteItem --------------------------------------------------------------
def _key_of(table: Any, attributes: dict[str, Any]) -> dict[str, Any]:
    return {name: attributes[name] for name in table.table_key_attrs if name in attributes}


def _existing(handler: Any, table: Any, key: dict[str, Any]) -> dict[str, Any] | None:
    if len(key) != len(table.table_key_attrs):
        return None  # moto itself refuses the call
    item = handler.dynamodb_backend.get_item(table.name, key)
    return None if item is None else dict(item.to_json()["Attributes"])


def _put_sizes(handler: Any, table: Any) -> tuple[dict[str, Any], list[int]]:
    item = handler.body["Item"]
    key = _key_of(table, item)
    return key, [item_size(item), item_size(_existing(handler, table, key))]


def _update_sizes(handler: Any, table: Any) -> tuple[dict[str, Any], list[int]]:
    key = handler.body["Key"]
    old = item_size(_existing(handler, table, key))
    added = sum(item_size({"v": v}) for v in (handler.body.get("ExpressionAttributeValues") or {}).values())
    return key, [old, old + added]


def _delete_sizes(handler: Any, table: Any) -> tuple[dict[str, Any], list[int]]:
    key = handler.body["Key"]
    return key, [item_size(_existing(handler, table, key))]


def _guarded(
    gate: Gate, original: Callable[[Any], Any], sizes: Callable[[Any, Any], tuple[dict[str, Any], list[int]]]
) -> Any:
    """A single-item write handler that asks ``gate`` first and fails whole when over capacity."""

    def call(handler: Any) -> Any:
        backend = handler.dynamodb_backend
        table = backend.get_table(handler.body["TableName"])
        key, item_bytes = sizes(handler, table)
        reason = gate.admit_reason(backend, table, key, *item_bytes)
        if reason is not None:
            raise throughput_exceeded(reason, table.table_arn)
        result = original(handler)  # a failed condition raises here, after the capacity was charged
        gate.wrote(backend, table)
        return result

    return call


# -- BatchWriteItem -------------------------------------------------------------------------------
def _request_sizes(handler: Any, table: Any, request: dict[str, Any]) -> tuple[dict[str, Any], list[int]]:
    if "PutRequest" in request:
        item = request["PutRequest"]["Item"]
        key = _key_of(table, item)
        return key, [item_size(item), item_size(_existing(handler, table, key))]
    key = request["DeleteRequest"]["Key"]
    return key, [item_size(_existing(handler, table, key))]


def _batch_write_item(gate: Gate, original: Callable[[Any], Any]) -> Any:
    """BatchWriteItem that writes the requests ``gate`` admits and returns the others unprocessed."""

    def batch_write_item(handler: Any) -> Any:
        backend = handler.dynamodb_backend
        admitted: dict[str, list[dict[str, Any]]] = {}
        unprocessed: dict[str, list[dict[str, Any]]] = {}
        written: dict[str, int] = {}
        last: tuple[str, str] = ("", "")
        for table_name, requests in handler.body["RequestItems"].items():
            table = backend.get_table(table_name)
            for request in requests:
                key, sizes = _request_sizes(handler, table, request)
                reason = gate.admit_reason(backend, table, key, *sizes)
                if reason is None:
                    admitted.setdefault(table_name, []).append(request)
                    written[table_name] = written.get(table_name, 0) + 1
                else:
                    unprocessed.setdefault(table_name, []).append(request)
                    last = (reason, table.table_arn)
        if not admitted:
            raise throughput_exceeded(*last)
        handler.body["RequestItems"] = admitted
        result = original(handler)
        body: dict[str, Any] = result.result
        body["UnprocessedItems"] = unprocessed
        for table_name, count in written.items():
            gate.wrote(backend, backend.get_table(table_name), count)
        return result

    return batch_write_item


# -- CreateTable, UpdateTable ---------------------------------------------------------------------
def _keeping_on_demand(original: Callable[[Any], Any]) -> Any:
    """CreateTable/UpdateTable that keep the request's OnDemandThroughput on the table."""

    def call(handler: Any) -> Any:
        result = original(handler)
        on_demand = handler.body.get("OnDemandThroughput")
        if on_demand:
            table = handler.dynamodb_backend.get_table(handler.body["TableName"])
            current = dict(getattr(table, _ON_DEMAND, None) or {})
            current.update({k: v for k, v in on_demand.items() if v is not None})
            setattr(table, _ON_DEMAND, {k: v for k, v in current.items() if int(v) > 0})
        return result

    return call
