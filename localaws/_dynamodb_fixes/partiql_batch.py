"""BatchExecuteStatement with parameterized PartiQL writes, answered as DynamoDB answers them.

moto 5.2.5 hands every statement to py-partiql-parser, which raises on a ``?`` placeholder, so
no parameterized batch works. This fix answers INSERT and UPDATE statements that use ``?``
itself, by translating each into the moto operation with the same meaning (PutItem with
``attribute_not_exists`` on the key; UpdateItem with the WHERE clause as its condition); other
statements (SELECT, DELETE, statements with literals only) still go to moto's own code.

Documented behaviours this implements, each with its source:

1. Every statement has its own response, in request order; an HTTP 200 does not mean every
   statement succeeded: each failed one carries ``Error`` (``Code``, ``Message``).
   (API reference, BatchExecuteStatement:
   https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchExecuteStatement.html)
2. At most 25 statements per call; more is a ValidationException of the whole call.
   (same page, ``Statements``: "Array Members: Minimum number of 1 item. Maximum number of 25 items.")
3. The per-statement ``Code`` is one of ConditionalCheckFailed, ItemCollectionSizeLimitExceeded,
   RequestLimitExceeded, ValidationError, ProvisionedThroughputExceeded, TransactionConflict,
   ThrottlingError, InternalServerError, ResourceNotFound, AccessDenied, DuplicateItem; ``Item``
   holds the item that failed the condition when ``ReturnValuesOnConditionCheckFailure`` is
   ``ALL_OLD``. (API reference, BatchStatementError:
   https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchStatementError.html,
   and BatchStatementRequest:
   https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchStatementRequest.html)
4. ``Parameters`` are the values of the statement's ``?`` placeholders, in order.
   (API reference, BatchStatementRequest, ``Parameters``; Developer Guide, "Running batch
   operations with PartiQL for DynamoDB":
   https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ql-reference.multiplestatements.batching.html)
5. INSERT adds one item; if the table already has an item with the same primary key the
   statement fails with DuplicateItem. (Developer Guide, "PartiQL insert statements for DynamoDB":
   https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ql-reference.insert.html)
6. UPDATE modifies one item, ``SET path = data`` and ``REMOVE path`` clauses; its WHERE condition
   must resolve to a single primary key value; when the condition is false (including when no
   item has that key: UPDATE does not create one) the statement fails with
   ConditionalCheckFailed. (Developer Guide, "PartiQL update statements for DynamoDB":
   https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ql-reference.update.html)
7. A statement whose table does not exist fails with ResourceNotFound; an invalid statement or
   value (e.g. a Number out of range, see ``number_limits``) with ValidationError; the other
   statements of the batch are unaffected. (BatchStatementError, as in 3.) The codes are
   BatchStatementError's own (``ValidationError``, ``ThrottlingError``...), not the API's exception
   names moto raises (``ValidationException``): :func:`statement_error_code` translates both this
   fix's answers and those of moto's own code.

8. Limits mode: a write statement over the table's write capacity fails on its own with
   ``ThrottlingError`` (a BatchStatementError code, as in 3) while the call answers HTTP 200 and
   the other statements run; a statement that reaches the table consumes capacity even when its
   condition fails (``localaws._dynamodb_limits``). Which of ThrottlingError and
   ProvisionedThroughputExceeded DynamoDB puts in a statement is not documented; both are in
   the enum and both are throttling.

Per-statement faults: a :class:`localaws._faults.Fault` with ``statements`` set fails only those
statements (by index) of the next matching BatchExecuteStatement calls, with its error code in
their ``Error``, without running them; the others run normally (how DynamoDB throttles single
statements of a batch, item 3).
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from localaws._kinesis_fixes._patching import patch

from .number_limits import first_number_error

_PATCHED = "_localaws_partiql_batch"
MAX_STATEMENTS = 25
DUPLICATE_MESSAGE = "Duplicate primary key exists in table"
CONDITION_MESSAGE = "The conditional request failed"
#: a statement refused for the table's write capacity (limits mode; behaviour 8)
THROTTLED = "ThrottlingError"

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<dq>"(?:[^"]|"")*")
    |(?P<sq>'(?:[^']|'')*')
    |(?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
    |(?P<op><=|>=|<>|=|<|>|\(|\)|,|\{|\}|:|\?)
    |(?P<word>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = frozenset({"AND", "OR", "NOT"})

#: the per-statement fault of the request being answered (set by the app under its moto lock)
_current = threading.local()


class StatementGate(Protocol):
    """Limits mode's write capacity (``localaws._dynamodb_throttle``): asked before a write
    statement touches the table, told when one wrote an item."""

    def admit(self, backend: Any, table: Any, key: dict[str, Any], *item_bytes: int) -> str | None:
        """None: go ahead (capacity charged); else the ThrottlingError message."""

    def wrote(self, backend: Any, table: Any) -> None: ...

    def misdirected(self, backend: Any, table: Any) -> None:
        """An INSERT met an existing item, or an UPDATE found none (capacity was charged)."""


#: limits mode's gate, or None (no capacity limits)
_gate: list[StatementGate] = []


def set_statement_gate(gate: StatementGate | None) -> None:
    _gate[:] = [] if gate is None else [gate]


def _throttled(backend: Any, table: Any, key: dict[str, Any], *items: dict[str, Any] | None) -> str | None:
    if not _gate:
        return None
    from localaws._dynamodb_limits import item_size

    return _gate[0].admit(backend, table, key, *(item_size(item) for item in items))


def _wrote(backend: Any, table: Any) -> None:
    if _gate:
        _gate[0].wrote(backend, table)


def _misdirected(backend: Any, table: Any) -> None:
    if _gate:
        _gate[0].misdirected(backend, table)


def set_statement_fault(fault: Any) -> None:
    """Use ``fault`` (a Fault with ``statements``, or None) for the call about to be answered."""
    _current.fault = fault


class Unsupported(Exception):
    """A statement this fix does not translate (moto's own code answers it)."""


class StatementError(Exception):
    """A statement DynamoDB would refuse: its BatchStatementError code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


Token = tuple[str, str]


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    text = text.rstrip().rstrip(";")
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            if text[position:].strip() == "":
                break
            raise Unsupported(f"cannot read {text[position : position + 20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _unquote(token: Token) -> str:
    kind, text = token
    if kind == "dq":
        return text[1:-1].replace('""', '"')
    if kind == "sq":
        return text[1:-1].replace("''", "'")
    return text


@dataclass
class _Values:
    """Parameters consumed in order, and literals, as expression attribute values."""

    parameters: list[dict[str, Any]]
    used: int = 0
    values: dict[str, Any] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def value(self, token: Token) -> dict[str, Any]:
        kind, text = token
        if kind == "op" and text == "?":
            if self.used >= len(self.parameters):
                raise StatementError("ValidationError", "Number of parameters in request and statement don't match.")
            self.used += 1
            return self.parameters[self.used - 1]
        if kind == "sq":
            return {"S": _unquote(token)}
        if kind == "num":
            return {"N": text}
        raise Unsupported(f"unsupported value {text!r}")

    def placeholder(self, token: Token) -> str:
        name = f":v{len(self.values)}"
        self.values[name] = self.value(token)
        return name

    def name(self, attribute: str) -> str:
        for placeholder, known in self.names.items():
            if known == attribute:
                return placeholder
        placeholder = f"#n{len(self.names)}"
        self.names[placeholder] = attribute
        return placeholder

    def check_all_used(self) -> None:
        if self.used != len(self.parameters):
            raise StatementError("ValidationError", "Number of parameters in request and statement don't match.")


def _is_value(token: Token) -> bool:
    return token[0] in ("sq", "num") or token == ("op", "?")


def _expect(tokens: list[Token], index: int, text: str) -> int:
    if index >= len(tokens) or tokens[index][1].upper() != text.upper():
        raise Unsupported(f"expected {text}")
    return index + 1


@dataclass
class Insert:
    table: str
    item: dict[str, Any]


@dataclass
class Update:
    table: str
    where: list[Token]
    sets: list[tuple[str, Token]]
    removes: list[str]


def parse(text: str) -> Insert | Update:
    """The parsed INSERT/UPDATE; :class:`Unsupported` for anything else."""
    tokens = tokenize(text)
    if not tokens or tokens[0][0] != "word":
        raise Unsupported("not a statement")
    verb = tokens[0][1].upper()
    if not any(token == ("op", "?") for token in tokens):
        raise Unsupported("no parameters: moto answers it")
    if verb == "INSERT":
        index = _expect(tokens, 1, "INTO")
        table = _unquote(tokens[index])
        index = _expect(tokens, index + 1, "VALUE")
        index = _expect(tokens, index, "{")
        pairs: list[tuple[str, Token]] = []
        while True:
            if tokens[index][0] != "sq":
                raise Unsupported("attribute names of an INSERT are single-quoted")
            name = _unquote(tokens[index])
            index = _expect(tokens, index + 1, ":")
            if not _is_value(tokens[index]):
                raise Unsupported("nested values")
            pairs.append((name, tokens[index]))
            index += 1
            if tokens[index] == ("op", ","):
                index += 1
                continue
            index = _expect(tokens, index, "}")
            break
        if index != len(tokens):
            raise Unsupported("trailing tokens")
        return Insert(table, dict(pairs))
    if verb == "UPDATE":
        table = _unquote(tokens[1])
        index = 2
        sets: list[tuple[str, Token]] = []
        removes: list[str] = []
        while index < len(tokens) and tokens[index][1].upper() in ("SET", "REMOVE"):
            clause = tokens[index][1].upper()
            index += 1
            while True:
                name = _unquote(tokens[index])
                index += 1
                if clause == "SET":
                    index = _expect(tokens, index, "=")
                    if not _is_value(tokens[index]):
                        raise Unsupported("SET to an expression")
                    sets.append((name, tokens[index]))
                    index += 1
                else:
                    removes.append(name)
                if index < len(tokens) and tokens[index] == ("op", ","):
                    index += 1
                    continue
                break
        index = _expect(tokens, index, "WHERE")
        return Update(table, tokens[index:], sets, removes)
    raise Unsupported(f"{verb} statements are left to moto")


def _condition(where: list[Token], values: _Values, key_attrs: list[str]) -> tuple[str, dict[str, Any]]:
    """The WHERE clause as a condition expression, and the key it names with ``=``."""
    parts: list[str] = []
    key: dict[str, Any] = {}
    for index, token in enumerate(where):
        kind, text = token
        if kind == "op" and text == "?" or kind in ("sq", "num"):
            placeholder = values.placeholder(token)
            parts.append(placeholder)
            before = where[index - 2 : index]
            if len(before) == 2 and before[1] == ("op", "=") and before[0][0] in ("dq", "word"):
                attribute = _unquote(before[0])
                if attribute in key_attrs and attribute not in key:
                    key[attribute] = values.values[placeholder]
        elif kind == "op":
            parts.append(text)
        elif kind == "word" and text.upper() in _KEYWORDS:
            parts.append(text.upper())
        elif kind in ("dq", "word"):
            parts.append(values.name(_unquote(token)))
        else:
            raise Unsupported(f"unsupported token {text!r}")
    if set(key) != set(key_attrs):
        raise StatementError(
            "ValidationError", "Where clause does not contain a mandatory equality on all key attributes"
        )
    return " ".join(parts), key


def _key_attrs(table: Any) -> list[str]:
    return [name for name in (table.hash_key_attr, table.range_key_attr) if name]


#: moto's exception names -> the codes a BatchStatementError carries (behaviour 3): DynamoDB says
#: ``ValidationError`` in a statement's ``Error`` where its API errors say ValidationException
_STATEMENT_CODES = {
    "ValidationException": "ValidationError",
    "ThrottlingException": "ThrottlingError",
    "InternalServerError": "InternalServerError",
}


def statement_error_code(name: str) -> str:
    """The BatchStatementError ``Code`` for moto's error ``name`` (e.g. ``ValidationException``)."""
    name = name.rsplit("#", 1)[-1]
    return _STATEMENT_CODES.get(name, name.removesuffix("Exception"))


def _error_code(exc: Exception) -> str:
    return statement_error_code(str(getattr(exc, "error_type", "") or type(exc).__name__))


def execute(backend: Any, statement: dict[str, Any]) -> dict[str, Any]:
    """One statement's BatchStatementResponse; :class:`Unsupported` for moto's own code."""
    from moto.dynamodb.exceptions import ConditionalCheckFailed, DynamodbException

    parsed = parse(str(statement.get("Statement", "")))
    parameters = list(statement.get("Parameters") or [])
    if parsed.table not in backend.tables:
        return {"Error": {"Code": "ResourceNotFound", "Message": "Requested resource not found"}}
    table = backend.tables[parsed.table]
    key_attrs = _key_attrs(table)
    values = _Values(parameters)
    try:
        number_error = first_number_error(parameters)
        if number_error is not None:
            raise StatementError("ValidationError", number_error)
        if isinstance(parsed, Insert):
            item = {name: values.value(token) for name, token in parsed.item.items()}
            values.check_all_used()
            missing = [name for name in key_attrs if name not in item]
            if missing:
                raise StatementError("ValidationError", f"Missing the key {missing[0]} in the item")
            names = {f"#k{i}": name for i, name in enumerate(key_attrs)}
            condition = " AND ".join(f"attribute_not_exists({placeholder})" for placeholder in names)
            throttled = _throttled(backend, table, {name: item[name] for name in key_attrs}, item)
            if throttled is not None:
                raise StatementError(THROTTLED, throttled)
            try:
                backend.put_item(parsed.table, item, condition_expression=condition, expression_attribute_names=names)
            except ConditionalCheckFailed as exc:
                _misdirected(backend, table)
                raise StatementError("DuplicateItem", DUPLICATE_MESSAGE) from exc
            _wrote(backend, table)
            return {"TableName": parsed.table}
        set_values = [(name, values.placeholder(token)) for name, token in parsed.sets]
        condition, key = _condition(parsed.where, values, key_attrs)
        values.check_all_used()
        if not set_values and not parsed.removes:
            raise StatementError("ValidationError", "UPDATE needs at least one SET or REMOVE")
        for name in [*(name for name, _ in set_values), *parsed.removes]:
            if name in key_attrs:
                raise StatementError(
                    "ValidationError", f"Cannot update attribute {name}. This attribute is part of the key"
                )
        old = backend.get_item(parsed.table, key)
        if old is None:  # an UPDATE never creates an item: its WHERE names none
            throttled = _throttled(backend, table, key, None)  # a failed condition still costs capacity
            if throttled is not None:
                raise StatementError(THROTTLED, throttled)
            _misdirected(backend, table)
            raise _WithItem({"Code": "ConditionalCheckFailed", "Message": CONDITION_MESSAGE})
        old_attributes = copy.deepcopy(old.to_json()["Attributes"])
        # SET and REMOVE of top-level attributes, applied here and stored with one conditional put
        # (under the stack's one lock, so as atomic as UpdateItem): moto's UpdateItem re-parses and
        # validates the update expression per call, about four fifths of a statement's time
        updated = dict(old_attributes)
        for name, placeholder in set_values:
            updated[name] = values.values[placeholder]
        for name in parsed.removes:
            updated.pop(name, None)
        throttled = _throttled(backend, table, key, old_attributes, updated)
        if throttled is not None:
            raise StatementError(THROTTLED, throttled)
        try:
            backend.put_item(
                parsed.table,
                updated,
                condition_expression=condition,
                expression_attribute_names=values.names,
                expression_attribute_values=values.values,
            )
        except ConditionalCheckFailed as exc:
            error: dict[str, Any] = {"Code": "ConditionalCheckFailed", "Message": CONDITION_MESSAGE}
            if statement.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD":
                error["Item"] = old_attributes
            raise _WithItem(error) from exc
        _wrote(backend, table)
        return {"TableName": parsed.table}
    except _WithItem as failed:
        return {"TableName": parsed.table, "Error": failed.error}
    except StatementError as exc:
        return {"TableName": parsed.table, "Error": {"Code": exc.code, "Message": exc.message}}
    except DynamodbException as exc:
        return {"TableName": parsed.table, "Error": {"Code": _error_code(exc), "Message": str(exc.message)}}


class _WithItem(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error["Message"])
        self.error = error


def apply() -> None:
    from moto.dynamodb.exceptions import MockValidationException
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, _PATCHED, False):
        return
    original: Callable[..., list[dict[str, Any]]] = DynamoDBBackend.batch_execute_statement

    def batch_execute_statement(self: Any, statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(statements) > MAX_STATEMENTS:
            raise MockValidationException(
                f"1 validation error detected: Value at 'statements' failed to satisfy constraint: "
                f"Member must have length less than or equal to {MAX_STATEMENTS}"
            )
        fault = getattr(_current, "fault", None)
        failing = set(fault.statements) if fault is not None else set()
        responses: list[dict[str, Any]] = []
        for index, statement in enumerate(statements):
            if fault is not None and index in failing:
                responses.append({"Error": {"Code": fault.error_code, "Message": fault.message}})
                continue
            try:
                responses.append(execute(self, statement))
            except Unsupported:
                response = original(self, [statement])[0]
                error = response.get("Error")
                if error and "Code" in error:  # moto's own path names the code as its exception
                    error["Code"] = statement_error_code(str(error["Code"]))
                responses.append(response)
        return responses

    patch(DynamoDBBackend, "batch_execute_statement", batch_execute_statement)
    patch(DynamoDBBackend, _PATCHED, True)
