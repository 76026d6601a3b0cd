"""DynamoDB condition expressions: lex once per text, parse once per request.

moto 5.2.5 parses a PutItem/UpdateItem/DeleteItem ConditionExpression twice per request (once
to validate the attribute names used, once in the backend to evaluate it), and each parse
re-lexes the text with a dozen regular expressions per token: about a third of a conditional
PutItem. The lexer's output depends on the text alone (immutable nodes), so it is cached by
text; a parse depends on text, names and values, so its result (an immutable operator tree
plus the names and values found) is cached by all three, in a small LRU.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from localaws._kinesis_fixes._patching import patch

_PATCHED = "_localaws_condition_cache"
LEX_CACHE_SIZE = 1024
PARSE_CACHE_SIZE = 256


class LruCache:
    """A small thread-safe LRU mapping."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


def parse_key(expression: str, names: Any, values: Any) -> str | None:
    """A cache key for one parse, or None when the inputs are not plain JSON-like data."""
    try:
        return json.dumps([expression, names, values], sort_keys=True)
    except (TypeError, ValueError):
        return None


def apply() -> None:
    from moto.dynamodb.comparisons import ConditionExpressionParser

    if getattr(ConditionExpressionParser, _PATCHED, False):
        return
    lexed = LruCache(LEX_CACHE_SIZE)
    parsed = LruCache(PARSE_CACHE_SIZE)
    original_lex: Callable[[Any], Any] = ConditionExpressionParser._lex_condition_expression
    original_parse: Callable[[Any], Any] = ConditionExpressionParser.parse

    def _lex_condition_expression(self: Any) -> deque[Any]:
        text = self.condition_expression
        nodes = lexed.get(text)
        if nodes is None:
            nodes = tuple(original_lex(self))
            lexed.put(text, nodes)
        return deque(nodes)

    def parse(self: Any) -> Any:
        key = parse_key(self.condition_expression, self.expression_attribute_names, self.expression_attribute_values)
        hit = parsed.get(key) if key is not None else None
        if hit is not None:
            op, names_found, values_found = hit
            self.expr_attr_names_found.extend(names_found)
            self.expr_attr_values_found.extend(values_found)
            return op
        op = original_parse(self)
        if key is not None:
            parsed.put(key, (op, tuple(self.expr_attr_names_found), tuple(self.expr_attr_values_found)))
        return op

    patch(ConditionExpressionParser, "_lex_condition_expression", _lex_condition_expression)
    patch(ConditionExpressionParser, "parse", parse)
    patch(ConditionExpressionParser, _PATCHED, True)
