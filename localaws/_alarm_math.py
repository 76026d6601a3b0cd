"""The metric math an alarm of the embedded stack may use: a small pure subset of CloudWatch's.

Supported (Metric math syntax and functions,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html):
numbers, the ids of the alarm's other queries, ``+ - * /``, comparisons ``> < >= <= == !=``
(1 when true, 0 when false), ``AND``/``&&``, ``OR``/``||``, parentheses, ``FILL(series, value)``
(a missing datapoint becomes ``value``) and ``IF(condition, a[, b])`` (``a`` where the condition
is non-zero, else ``b``; without ``b``, missing). Anything else raises :class:`MathError`.

Each series is a list with one value per period (None: the period has no datapoint). Operators
work period by period; a missing operand makes the result missing (hence ``FILL``), and so does
a division by zero.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

Series = list[float | None]
_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?|\.\d+)|([A-Za-z_][A-Za-z0-9_]*)|(>=|<=|==|!=|&&|\|\||[-+*/()<>,]))")


class MathError(ValueError):
    """An expression the embedded stack does not evaluate (or that is malformed)."""


def _tokens(expression: str) -> list[str]:
    out, at = [], 0
    while at < len(expression.rstrip()):
        match = _TOKEN.match(expression, at)
        if match is None:
            raise MathError(f"cannot read {expression[at:]!r} in {expression!r}")
        out.append(match.group(0).strip())
        at = match.end()
    return out


def _lift(fn: Callable[[float, float], float | None]) -> Callable[[Series, Series], Series]:
    return lambda a, b: [None if x is None or y is None else fn(x, y) for x, y in zip(a, b, strict=True)]


_BINARY: dict[str, Callable[[Series, Series], Series]] = {
    "+": _lift(lambda x, y: x + y),
    "-": _lift(lambda x, y: x - y),
    "*": _lift(lambda x, y: x * y),
    "/": _lift(lambda x, y: None if y == 0 else x / y),
    ">": _lift(lambda x, y: float(x > y)),
    "<": _lift(lambda x, y: float(x < y)),
    ">=": _lift(lambda x, y: float(x >= y)),
    "<=": _lift(lambda x, y: float(x <= y)),
    "==": _lift(lambda x, y: float(x == y)),
    "!=": _lift(lambda x, y: float(x != y)),
    "AND": _lift(lambda x, y: float(bool(x) and bool(y))),
    "OR": _lift(lambda x, y: float(bool(x) or bool(y))),
}
_LEVELS: tuple[tuple[str, ...], ...] = (("OR", "||"), ("AND", "&&"), (">", "<", ">=", "<=", "==", "!="), ("+", "-"))
_SYNONYM = {"||": "OR", "&&": "AND"}


class _Parser:
    def __init__(self, expression: str, series: Mapping[str, Series], periods: int) -> None:
        self.tokens = _tokens(expression)
        self.at = 0
        self.series = series
        self.periods = periods
        self.expression = expression

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token.upper() != expected):
            raise MathError(f"expected {expected or 'more'} in {self.expression!r}")
        self.at += 1
        return token

    def parse(self) -> Series:
        result = self.level(0)
        if self.peek() is not None:
            raise MathError(f"unexpected {self.peek()!r} in {self.expression!r}")
        return result

    def level(self, depth: int) -> Series:
        if depth == len(_LEVELS):
            return self.product()
        left = self.level(depth + 1)
        while (token := self.peek()) is not None and token.upper() in _LEVELS[depth]:
            operator = self.take().upper()
            left = _BINARY[_SYNONYM.get(operator, operator)](left, self.level(depth + 1))
        return left

    def product(self) -> Series:
        left = self.unary()
        while self.peek() in ("*", "/"):
            operator = self.take()
            left = _BINARY[operator](left, self.unary())
        return left

    def unary(self) -> Series:
        if self.peek() == "-":
            self.take()
            return [None if v is None else -v for v in self.unary()]
        return self.atom()

    def atom(self) -> Series:
        token = self.take()
        if token == "(":
            inner = self.level(0)
            self.take(")")
            return inner
        if token[0].isdigit() or token[0] == ".":
            return [float(token)] * self.periods
        if self.peek() == "(":
            return self.call(token.upper())
        if token not in self.series:
            raise MathError(f"unknown id {token!r} in {self.expression!r}")
        return list(self.series[token])

    def call(self, name: str) -> Series:
        self.take("(")
        args = [self.level(0)]
        while self.peek() == ",":
            self.take()
            args.append(self.level(0))
        self.take(")")
        if name == "FILL" and len(args) == 2:
            return [fill if v is None else v for v, fill in zip(args[0], args[1], strict=True)]
        if name == "IF" and len(args) in (2, 3):
            otherwise = args[2] if len(args) == 3 else [None] * self.periods
            return [None if c is None else (a if c else b) for c, a, b in zip(args[0], args[1], otherwise, strict=True)]
        raise MathError(f"{name} with {len(args)} arguments is not supported here")


def evaluate_expression(expression: str, series: Mapping[str, Sequence[float | None]], periods: int) -> Series:
    """``expression`` over ``series`` (id -> one value per period, oldest first)."""
    if any(len(values) != periods for values in series.values()):
        raise MathError("every series needs one value per period")
    return _Parser(expression, {k: list(v) for k, v in series.items()}, periods).parse()
