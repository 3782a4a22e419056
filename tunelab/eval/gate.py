"""Quality gates for CI: `f1 >= baseline + 0.02`, `accuracy > 0.5`, `exact_match >= baseline`.

Grammar (parsed by hand, never `eval`): ``side OP side`` with OP one of >= <= > < == !=, each side a
sum of products of numbers, metric names, ``baseline`` (the baseline model's value of the one metric
the gate names) or ``baseline.METRIC``, with + - * / and parentheses. A metric name stands for the
candidate's value. `check_gates` evaluates every gate for every candidate model (every model but the
baseline; the only model when there is one) and refuses unknown metrics, listing the run's metrics.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass

from tunelab.eval.results import EvalResult


class GateError(ValueError):
    """A gate that cannot be parsed or names a metric the run does not have."""


COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq, "!=": operator.ne,
}
_ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}

# metric names may hold @ and - after the first character (recall@10); `baseline.f1` is one token
_TOKEN = re.compile(r"""
    \s*(?:
      (?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
    | (?P<name>[A-Za-z_][A-Za-z0-9_@]*(?:\.[A-Za-z_][A-Za-z0-9_@]*)?)
    | (?P<op>>=|<=|==|!=|>|<|[-+*/()])
    )""", re.VERBOSE)


# --- syntax tree -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Metric:
    name: str
    of_baseline: bool = False  # `baseline.name` or a bare `baseline` (resolved to the gate's metric)


@dataclass(frozen=True)
class BinOp:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Neg:
    operand: Node


Node = Num | Metric | BinOp | Neg


@dataclass(frozen=True)
class Gate:
    """A parsed gate: `left OP right`; `metric` is the metric a bare `baseline` stands for."""

    text: str
    left: Node
    op: str
    right: Node

    def metrics(self) -> list[str]:
        """The metric names the gate reads, in order of appearance."""
        out: list[str] = []

        def walk(node: Node) -> None:
            if isinstance(node, Metric):
                if node.name:
                    out.append(node.name)
            elif isinstance(node, BinOp):
                walk(node.left)
                walk(node.right)
            elif isinstance(node, Neg):
                walk(node.operand)

        walk(self.left)
        walk(self.right)
        return list(dict.fromkeys(out))


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise GateError(f"gate {text!r}: cannot read {text[pos:].strip()!r} (at character {pos + 1}); "
                            "write e.g. 'f1 >= baseline + 0.02'.")
        kind = match.lastgroup
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


class _Parser:
    """Recursive descent: gate := sum CMP sum; sum := product (('+'|'-') product)*;
    product := unary (('*'|'/') unary)*; unary := '-' unary | atom; atom := NUMBER | NAME | '(' sum ')'."""

    def __init__(self, text: str) -> None:
        self.text, self.tokens, self.pos = text, _tokens(text), 0

    def fail(self, what: str) -> GateError:
        return GateError(f"gate {self.text!r}: {what}; write e.g. 'f1 >= baseline + 0.02'.")

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise self.fail("it ends too early")
        self.pos += 1
        return token

    def gate(self) -> Gate:
        left = self.sum()
        token = self.take()
        if token[0] != "op" or token[1] not in COMPARISONS:
            raise self.fail(f"expected a comparison ({' '.join(COMPARISONS)}) but found {token[1]!r}")
        right = self.sum()
        if self.peek() is not None:
            raise self.fail(f"unexpected {self.peek()[1]!r} after the comparison")
        return Gate(self.text, left, token[1], right)

    def sum(self) -> Node:
        node = self.product()
        while (t := self.peek()) and t[0] == "op" and t[1] in "+-":
            self.pos += 1
            node = BinOp(t[1], node, self.product())
        return node

    def product(self) -> Node:
        node = self.unary()
        while (t := self.peek()) and t[0] == "op" and t[1] in "*/":
            self.pos += 1
            node = BinOp(t[1], node, self.unary())
        return node

    def unary(self) -> Node:
        t = self.peek()
        if t and t == ("op", "-"):
            self.pos += 1
            return Neg(self.unary())
        return self.atom()

    def atom(self) -> Node:
        kind, value = self.take()
        if kind == "number":
            return Num(float(value))
        if kind == "name":
            head, _, metric = value.partition(".")
            if head == "baseline":
                return Metric(metric, of_baseline=True)
            if metric:
                raise self.fail(f"{value!r}: only `baseline.METRIC` may use a dot")
            return Metric(value)
        if value == "(":
            node = self.sum()
            if self.peek() != ("op", ")"):
                raise self.fail("a '(' is not closed")
            self.pos += 1
            return node
        raise self.fail(f"expected a number or a metric name but found {value!r}")


def _resolve_bare_baseline(gate: Gate) -> Gate:
    """Give a bare `baseline` the gate's one metric; refuse it where the gate names none or several."""
    named = gate.metrics()

    def fix(node: Node) -> Node:
        if isinstance(node, Metric) and node.of_baseline and not node.name:
            if len(named) != 1:
                which = "no metric" if not named else f"several metrics ({', '.join(named)})"
                raise GateError(f"gate {gate.text!r}: a bare `baseline` is ambiguous when the gate names {which}; "
                                "write `baseline.METRIC`.")
            return Metric(named[0], of_baseline=True)
        if isinstance(node, BinOp):
            return BinOp(node.op, fix(node.left), fix(node.right))
        if isinstance(node, Neg):
            return Neg(fix(node.operand))
        return node

    return Gate(gate.text, fix(gate.left), gate.op, fix(gate.right))


def parse_gate(text: str) -> Gate:
    """Parse one gate expression; raises `GateError` saying where it went wrong."""
    if not text or not text.strip():
        raise GateError("a gate is empty; write e.g. 'f1 >= baseline + 0.02'.")
    text = text.strip()
    return _resolve_bare_baseline(_Parser(text).gate())


# --- evaluation ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateOutcome:
    """One gate checked on one candidate: the values of both sides and whether it held."""

    gate: str
    model: str
    passed: bool
    left: float
    right: float
    op: str
    detail: str  # e.g. "f1 0.512 >= 0.497 (baseline 0.477 + 0.02)"

    def to_dict(self) -> dict:
        return asdict(self)


def _value(node: Node, result: EvalResult, model: str) -> float:
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Metric):
        return result.value(result.baseline if node.of_baseline else model, node.name)
    if isinstance(node, Neg):
        return -_value(node.operand, result, model)
    left, right = _value(node.left, result, model), _value(node.right, result, model)
    if node.op == "/" and right == 0:
        return math.nan
    return _ARITHMETIC[node.op](left, right)


def _show(node: Node, result: EvalResult, model: str, top: bool = True) -> str:
    """The side as written, with metric values filled in: 'baseline f1 0.477 + 0.02'."""
    if isinstance(node, Num):
        return f"{node.value:g}"
    if isinstance(node, Metric):
        who = "baseline " if node.of_baseline else ""
        return f"{who}{node.name} {_value(node, result, model):.4g}"
    if isinstance(node, Neg):
        return f"-{_show(node.operand, result, model, False)}"
    text = f"{_show(node.left, result, model, False)} {node.op} {_show(node.right, result, model, False)}"
    return text if top else f"({text})"


def check_metrics_known(gates: list[Gate], metrics: list[str]) -> None:
    """Refuse gates naming a metric outside `metrics`, listing what the run has."""
    for gate in gates:
        unknown = [m for m in gate.metrics() if m not in metrics]
        if unknown:
            raise GateError(f"gate {gate.text!r} names {', '.join(unknown)}, which this run does not have; "
                            f"its metrics are: {', '.join(metrics) or 'none'}.")


def check_gates(result: EvalResult, exprs: list[str | Gate]) -> list[GateOutcome]:
    """Every gate for every candidate, in gate order then model order. A side that is NaN (a metric
    that could not be computed) fails the gate."""
    gates = [e if isinstance(e, Gate) else parse_gate(e) for e in exprs]
    check_metrics_known(gates, result.metric_names())
    outcomes = []
    for gate in gates:
        for model in result.candidates:
            left, right = _value(gate.left, result, model), _value(gate.right, result, model)
            passed = not (math.isnan(left) or math.isnan(right)) and COMPARISONS[gate.op](left, right)
            detail = (f"{_show(gate.left, result, model)} {gate.op} {_show(gate.right, result, model)}"
                      f" -> {left:.4g} {gate.op} {right:.4g}")
            outcomes.append(GateOutcome(gate.text, model, bool(passed), left, right, gate.op, detail))
    return outcomes
