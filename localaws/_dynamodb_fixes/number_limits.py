"""DynamoDB's Number limits, which moto 5.2.5 does not enforce.

"Numbers can have up to 38 digits of precision. Exceeding this results in an exception."
Positive range 1E-130 to 9.9999999999999999999999999999999999999E+125, negative range
-9.9999999999999999999999999999999999999E+125 to -1E-130; leading and trailing zeroes are
trimmed. (Amazon DynamoDB Developer Guide, "Supported data types and naming rules in Amazon
DynamoDB", Number: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html
and "Quotas in Amazon DynamoDB", Data types:
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html)

DynamoDB refuses such a write with a ValidationException; the messages below are the ones
DynamoDB sends. The write operations that carry attribute values (PutItem, UpdateItem,
BatchWriteItem, TransactWriteItems, ExecuteStatement) check every ``N`` and ``NS`` value of their
request before moto sees it; BatchExecuteStatement checks per statement (see ``partiql_batch``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from foundation.limits import (
    DYNAMODB_NUMBER_MAX_DIGITS,
    DYNAMODB_NUMBER_MAX_EXPONENT,
    DYNAMODB_NUMBER_MIN_EXPONENT,
)
from localaws._kinesis_fixes._patching import patch

_PATCHED = "_localaws_number_limits"
OVERFLOW = "Number overflow. Attempting to store a number with magnitude larger than supported range"
UNDERFLOW = "Number underflow. Attempting to store a number with magnitude smaller than supported range"
PRECISION = "Attempting to store more than 38 significant digits in a Number"
NOT_A_NUMBER = "A value provided cannot be converted into a number"
#: request fields that hold attribute values, per operation
_OPERATIONS = ("put_item", "update_item", "batch_write_item", "transact_write_items", "execute_statement")


def number_error(text: str) -> str | None:
    """DynamoDB's message refusing the Number ``text``, or None when DynamoDB stores it."""
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        return NOT_A_NUMBER
    if not value.is_finite():
        return NOT_A_NUMBER
    if value.is_zero():
        return None
    digits = value.as_tuple().digits
    significant = len("".join(map(str, digits)).strip("0"))
    if significant > DYNAMODB_NUMBER_MAX_DIGITS:
        return PRECISION
    exponent = value.adjusted()  # the power of ten of the leading digit
    if exponent > DYNAMODB_NUMBER_MAX_EXPONENT:
        return OVERFLOW
    if exponent < DYNAMODB_NUMBER_MIN_EXPONENT:
        return UNDERFLOW
    return None


def _numbers(value: Any) -> Iterator[str]:
    """Every N/NS string inside a JSON request fragment."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "N" and isinstance(inner, str):
                yield inner
            elif key == "NS" and isinstance(inner, list):
                yield from (v for v in inner if isinstance(v, str))
            else:
                yield from _numbers(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _numbers(inner)


def first_number_error(fragment: Any) -> str | None:
    for text in _numbers(fragment):
        error = number_error(text)
        if error is not None:
            return error
    return None


def apply() -> None:
    from moto.dynamodb.exceptions import MockValidationException
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler, _PATCHED, False):
        return

    def checked(original: Callable[..., Any]) -> Callable[..., Any]:
        def handler(self: Any) -> Any:
            error = first_number_error(self.body)
            if error is not None:
                raise MockValidationException(error)
            return original(self)

        handler.__name__ = original.__name__
        return handler

    for name in _OPERATIONS:
        patch(DynamoHandler, name, checked(getattr(DynamoHandler, name)))
    patch(DynamoHandler, _PATCHED, True)
