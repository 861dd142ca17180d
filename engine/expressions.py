"""Formulas in rulesets: a restricted grammar, parsed and checked once, evaluated by simpleeval.

An expression is Python expression syntax cut down to what a legal formula needs:
numbers, texts, names, function calls by name, arithmetic (``+ - * /``, ``**`` with
a small literal exponent), comparisons, ``and / or / not``, ``x if c else y`` and
tuples for ``in``. Everything else (attribute access, indexing, lambdas, ``:=``,
comprehensions, string formatting, ``%``) is refused when the ruleset is compiled,
with the column of the offending piece, so simpleeval's own guards are a second
wall rather than the only one.

Numbers with a decimal point become :class:`decimal.Decimal` from their source
text, and ``/`` divides exactly, so money never passes through ``float``.
"""

from __future__ import annotations

import ast
import decimal
import operator
import re
from decimal import Decimal

import simpleeval

from .diagnostic import Message, msg, suggest
from .records import record

__all__ = [
    "Expression",
    "ExpressionProblem",
    "parse_expression",
    "make_evaluator",
    "evaluate_expression",
    "ExpressionFailure",
    "failure_of",
    "MAX_EXPRESSION_CHARS",
    "MAX_EXPRESSION_DEPTH",
    "MAX_EXPRESSION_NODES",
    "MAX_POWER_EXPONENT",
    "MAX_STRING_LITERAL",
    "MAX_NUMBER_DIGITS",
    "MAX_MAGNITUDE_DIGITS",
    "MAX_MAGNITUDE",
    "DECIMAL_CONTEXT",
    "bounded",
    "describe_value",
    "explain_type_error",
]

# The longest formula of the shipped rulesets is under 200 characters; 2 000 keeps
# room for a long condition and refuses a megabyte formula before parsing it.
MAX_EXPRESSION_CHARS = 2000

# Python's own parser recurses per nesting level; 40 levels is far beyond any
# legal formula and far below where the parser or simpleeval would recurse deeply.
MAX_EXPRESSION_DEPTH = 40

# Bounds the time of one evaluation whatever the formula's shape.
MAX_EXPRESSION_NODES = 400

# x ** n only with a literal whole n in 0..10: enough for compound rates, and
# 9**9**9 or 4000000**4000000 never start computing.
MAX_POWER_EXPONENT = 10

# Texts in formulas are mission ids and dates; a long literal is an attack.
MAX_STRING_LITERAL = 200

# As in YAML (yaml_loader.MAX_NUMBER_DIGITS): no figure of the ACI needs more digits.
MAX_NUMBER_DIGITS = 15

# Every number a formula produces, on every evaluation path, stays below 10**18 in
# magnitude (a thousand times the French national budget, in cents), with at most
# DECIMAL_CONTEXT.prec significant digits: definitions that square each other, or
# add_months(d, 1e999999999), fail at once with E402 instead of computing for minutes.
MAX_MAGNITUDE_DIGITS = 18
MAX_MAGNITUDE = 10 ** MAX_MAGNITUDE_DIGITS

_ALLOWED_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.BinOp, ast.Add, ast.Sub, ast.Mult,
    ast.Div, ast.Pow, ast.UnaryOp, ast.USub, ast.UAdd, ast.Not, ast.Compare, ast.Eq,
    ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Is, ast.IsNot, ast.In, ast.NotIn,
    ast.IfExp, ast.Call, ast.Name, ast.Load, ast.Constant, ast.Tuple, ast.List,
)

_REFUSED = {
    ast.Attribute: msg("attribute access ('.') is not allowed"),
    ast.Subscript: msg("indexing ('[...]') is not allowed"),
    ast.Lambda: msg("lambda is not allowed"),
    ast.NamedExpr: msg("assignment (':=') is not allowed"),
    ast.JoinedStr: msg("f-strings are not allowed"),
    ast.FormattedValue: msg("f-strings are not allowed"),
    ast.Mod: msg("'%' (modulo, string formatting) is not allowed"),
    ast.FloorDiv: msg("'//' is not allowed: use round_down()"),
    ast.ListComp: msg("comprehensions are not allowed"),
    ast.SetComp: msg("comprehensions are not allowed"),
    ast.DictComp: msg("comprehensions are not allowed"),
    ast.GeneratorExp: msg("comprehensions are not allowed"),
    ast.Starred: msg("'*' unpacking is not allowed"),
    ast.Dict: msg("mappings are not allowed in expressions"),
    ast.Set: msg("sets are not allowed in expressions"),
    ast.Await: msg("await is not allowed"),
    ast.Yield: msg("yield is not allowed"),
    ast.YieldFrom: msg("yield is not allowed"),
}


@record
class ExpressionProblem:
    """A problem inside an expression: code, message and where in its text."""

    code: str
    message: Message
    line_offset: int = 0  # 0 for the first line of the expression
    column: int = 0  # 0-based, within that line
    name: str | None = None  # the unknown name, for E102


@record(eq=False)
class Expression:
    """A parsed, checked formula.

    ``names`` are the variable names it reads; ``functions`` the helpers it calls;
    ``node`` is the tree simpleeval walks (decimal literals already converted).
    """

    text: str
    node: ast.AST
    names: frozenset
    functions: frozenset
    literal_arguments: tuple  # (function name, first argument, column) for literal first arguments
    calls: tuple = ()  # (function name, arguments as literals, or None when one is not a literal)
    source: str = ""  # the text ast positions refer to

    def __str__(self) -> str:
        return self.text


def _source(value) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def parse_expression(value, *, known_names, known_functions) -> tuple[Expression | None, list]:
    """Parse and check one formula from a ruleset.

    Takes the YAML value (a text, a number or a boolean), the names a formula may
    read and the functions it may call. Returns ``(expression, problems)``;
    the expression is None when there is any problem.

    >>> e, p = parse_expression("a * 0.10", known_names={"a"}, known_functions=set())
    >>> sorted(e.names), p
    (['a'], [])
    >>> parse_expression("a.__class__", known_names={"a"}, known_functions=set())[1][0].code
    'E103'
    >>> str(parse_expression("populaton", known_names={"population"}, known_functions=set())[1][0].message)
    "unknown name 'populaton' (did you mean 'population'?)"
    """
    text = _source(value)
    if len(text) > MAX_EXPRESSION_CHARS:
        return None, [ExpressionProblem(
            "E104", msg("expression of {size} characters; the limit is {limit}", size=len(text),
                        limit=MAX_EXPRESSION_CHARS))]
    if not text.strip():
        return None, [ExpressionProblem("E101", msg("empty expression"))]
    # Parenthesised, a formula may span lines as YAML folds it; the closing
    # parenthesis on a line of its own is not swallowed by a trailing comment.
    source = "(" + text.strip() + "\n)"
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        line = max((exc.lineno or 1) - 1, 0)
        return None, [ExpressionProblem(
            "E101", msg("not a valid expression: {reason}", reason=_syntax_reason(exc.msg)), line,
            max((exc.offset or 1) - 1 - (1 if line == 0 else 0), 0))]
    except (RecursionError, MemoryError, ValueError):
        return None, [ExpressionProblem("E104", msg("expression too deeply nested"))]

    if isinstance(tree.body, ast.Tuple) and not tree.body.elts:
        return None, [ExpressionProblem("E101", msg("empty expression (only a comment)"))]

    problems: list[ExpressionProblem] = []
    containers: set = set()  # the tuples and lists written after 'in' / 'not in', the only ones allowed
    names: set = set()
    functions: set = set()
    literal_arguments: list = []
    calls: list = []
    count = 0
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        count += 1
        line = getattr(node, "lineno", 1) - 1
        where = (line, max(getattr(node, "col_offset", 0) - (1 if line == 0 else 0), 0))
        if depth > MAX_EXPRESSION_DEPTH:
            return None, [ExpressionProblem("E104", msg("expression nested deeper than {limit} levels",
                                                             limit=MAX_EXPRESSION_DEPTH), *where)]
        if count > MAX_EXPRESSION_NODES:
            return None, [ExpressionProblem("E104", msg("expression has more than {limit} parts",
                                                             limit=MAX_EXPRESSION_NODES))]
        if type(node) in _REFUSED:
            problems.append(ExpressionProblem("E103", _REFUSED[type(node)], *where))
            continue
        if not isinstance(node, _ALLOWED_NODES):
            problems.append(ExpressionProblem(
                "E103", msg("{construct} is not allowed in an expression", construct=type(node).__name__), *where))
            continue
        if isinstance(node, (ast.Tuple, ast.List)) and id(node) not in containers:
            problems.append(ExpressionProblem(
                "E103", msg("a list of values is only allowed after 'in' or 'not in': x in (3, 4)"), *where))
            continue
        if isinstance(node, ast.Compare):
            for operator_, operand in zip(node.ops, node.comparators):
                if isinstance(operator_, (ast.In, ast.NotIn)) and isinstance(operand, (ast.Tuple, ast.List)):
                    containers.add(id(operand))
            operands = [node.left, *node.comparators]
            for index, operator_ in enumerate(node.ops):
                if isinstance(operator_, (ast.Is, ast.IsNot)) and not any(
                        isinstance(o, ast.Constant) and (o.value is None or o.value is True or o.value is False)
                        for o in operands[index:index + 2]):
                    problems.append(ExpressionProblem(
                        "E103", msg("'is' and 'is not' compare only with None, True or False: write == or !="),
                        *where))
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.FloorDiv)):
            problems.append(ExpressionProblem("E103", _REFUSED[type(node.op)], *where))
            continue
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            exponent = node.right
            if not (isinstance(exponent, ast.Constant) and type(exponent.value) is int
                    and 0 <= exponent.value <= MAX_POWER_EXPONENT):
                problems.append(ExpressionProblem(
                    "E103", msg("'**' takes a literal whole exponent from 0 to {limit}", limit=MAX_POWER_EXPONENT),
                    *where))
                continue
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str) and len(node.value) > MAX_STRING_LITERAL:
                problems.append(ExpressionProblem(
                    "E104", msg("text literal longer than {limit} characters", limit=MAX_STRING_LITERAL), *where))
            elif isinstance(node.value, float):
                node.value = Decimal(ast.get_source_segment(source, node) or repr(node.value))
                if len(node.value.as_tuple().digits) > MAX_NUMBER_DIGITS:
                    problems.append(ExpressionProblem(
                        "E104", msg("number literal of more than {limit} digits", limit=MAX_NUMBER_DIGITS),
                        *where))
                elif not node.value.is_finite() or not (
                        -MAX_MAGNITUDE_DIGITS <= node.value.adjusted() < MAX_MAGNITUDE_DIGITS):
                    problems.append(ExpressionProblem(
                        "E104", msg("number literal beyond the engine's bounds (10**-{digits} to 10**{digits})",
                                    digits=MAX_MAGNITUDE_DIGITS), *where))
            elif type(node.value) is int and abs(node.value) >= 10 ** MAX_NUMBER_DIGITS:
                problems.append(ExpressionProblem(
                    "E104", msg("number literal of more than {limit} digits", limit=MAX_NUMBER_DIGITS), *where))
            elif not isinstance(node.value, (int, str, bool, type(None), Decimal)):
                problems.append(ExpressionProblem(
                    "E103", msg("literal {kind} is not allowed", kind=type(node.value).__name__), *where))
        if isinstance(node, ast.Name):
            written = ast.get_source_segment(source, node)
            if written is not None and written != node.id:
                # Python reads identifiers in NFKC form: a fullwidth or math-bold letter would
                # silently read another name than the one a reviewer sees.
                problems.append(ExpressionProblem(
                    "E103", msg("name {written} is not written in plain letters (Python would read it as "
                               "'{name}'): names are ASCII", written=repr(written), name=node.id), *where))
                continue
            if node.id not in known_names:
                guess = suggest(node.id, known_names)
                hint = msg(" (did you mean '{guess}'?)", guess=guess) if guess else ""
                problems.append(ExpressionProblem("E102", msg("unknown name '{name}'{hint}", name=node.id, hint=hint),
                                                  *where, node.id))
            names.add(node.id)
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                problems.append(ExpressionProblem("E103", msg("only named functions can be called"), *where))
                continue
            if node.keywords:
                problems.append(ExpressionProblem("E103", msg("keyword arguments are not allowed"), *where))
                continue
            name = node.func.id
            if name not in known_functions:
                guess = suggest(name, known_functions)
                hint = msg(" (did you mean '{guess}'?)", guess=guess) if guess else ""
                problems.append(ExpressionProblem("E102", msg("unknown function '{name}'{hint}", name=name, hint=hint),
                                                  *where))
            functions.add(name)
            if node.args and isinstance(node.args[0], ast.Constant):
                first = node.args[0]
                column = first.col_offset - (1 if first.lineno == 1 else 0)
                literal_arguments.append((name, first.value, column))
            literal = all(isinstance(arg, ast.Constant) for arg in node.args)
            calls.append((name, tuple(arg.value for arg in node.args) if literal else None, where[1]))
            stack.extend((arg, depth + 1) for arg in node.args)
            continue
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))

    if problems:
        problems.sort(key=lambda p: (p.line_offset, p.column))
        return None, problems
    return Expression(text, tree.body, frozenset(names), frozenset(functions), tuple(literal_arguments),
                      tuple(calls), source), []


def describe_value(value) -> str | Message:
    """A short, safe rendering of a computed value for a message (never a huge number).

    >>> str(describe_value(10 ** 5000))
    'a whole number of about 5001 digits'
    >>> describe_value("x")
    "'x'"
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        # Counted from the bits: str() of a huge int is slow, and refused past 4300 digits.
        return msg("a whole number of about {digits} digits", digits=int(value.bit_length() * 0.30103) + 1)
    if isinstance(value, Decimal) and value.is_finite() and value.adjusted() > 40:
        return msg("a number of {digits} digits", digits=value.adjusted() + 1)
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# Python's names for the types a formula meets, in the rule's terms.
_TYPE_TERMS = {
    "int": "a number", "decimal.Decimal": "a number", "Decimal": "a number", "float": "a number",
    "bool": "true/false", "str": "a text", "datetime.date": "a date", "date": "a date",
    "datetime.timedelta": "a duration", "timedelta": "a duration", "NoneType": "nothing (None)",
    "tuple": "a list of values", "list": "a list of values",
}
_COMPARE = re.compile(r"'(?P<op>[^']+)' not supported between instances of '(?P<a>[^']+)' and '(?P<b>[^']+)'")
_OPERAND = re.compile(r"unsupported operand type\(s\) for (?P<op>[^:]+): '(?P<a>[^']+)' and '(?P<b>[^']+)'")
_UNARY = re.compile(r"bad operand type for unary (?P<op>\S+): '(?P<a>[^']+)'")
_NOT_ITERABLE = re.compile(r"argument of type '(?P<a>[^']+)' is not iterable")
_QUOTED_TYPE = re.compile(r"'(" + "|".join(re.escape(name) for name in _TYPE_TERMS) + r")'")


def _term(python_type: str) -> str:
    return _TYPE_TERMS.get(python_type, "a value of another kind")


# The terms as a reader reads them, in their language.
_TERM_TEXTS = {
    "a number": msg("a number"), "true/false": msg("true/false"), "a text": msg("a text"), "a date": msg("a date"),
    "a duration": msg("a duration"), "nothing (None)": msg("nothing (None)"),
    "a list of values": msg("a list of values"), "a value of another kind": msg("a value of another kind"),
}


def _said(python_type: str) -> Message:
    return _TERM_TEXTS[_term(python_type)]


# Python's words for the commonest mistakes in a formula, in the reader's language; any
# other is quoted as Python says it.
_SYNTAX_REASONS = {
    "invalid syntax": msg("invalid syntax"),
    "unexpected EOF while parsing": msg("the formula ends too early"),
    "invalid syntax. Perhaps you forgot a comma?": msg("invalid syntax: a comma or an operator may be missing"),
    "unmatched ')'": msg("a ')' closes no '('"),
    "'(' was never closed": msg("a '(' is never closed"),
    "invalid decimal literal": msg("invalid number"),
}


def _syntax_reason(reason: str):
    """Python's reason for a syntax error, in the reader's language when we know it."""
    if reason in _SYNTAX_REASONS:
        return _SYNTAX_REASONS[reason]
    if reason.startswith("unterminated string literal"):
        return msg("a text is not closed by its quote")
    return reason


def _reason(exc: Exception):
    """An exception's reason for a message: the Message the engine raised it with, else its text."""
    return exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], Message) else str(exc)


def explain_type_error(exc: Exception) -> tuple[Message, Message | None]:
    """A Python type error, said in the rule's terms: ``(what, hint at the fix or None)``, messages.

    >>> [str(m) for m in explain_type_error(TypeError("'<' not supported between instances of 'datetime.date' and 'str'"))]
    ["cannot compare a date with a text ('<')", "write a date as as_date('2024-01-01')"]
    >>> str(explain_type_error(TypeError("unsupported operand type(s) for +: 'int' and 'datetime.date'"))[0])
    'cannot compute a number + a date'
    """
    message = str(exc)
    kinds: tuple = ()
    if match := _COMPARE.search(message):
        kinds = (match["a"], match["b"])
        said = msg("cannot compare {a} with {b} ('{op}')", a=_said(match['a']), b=_said(match['b']), op=match['op'])
    elif match := _OPERAND.search(message):
        kinds = (match["a"], match["b"])
        said = msg("cannot compute {a} {op} {b}", a=_said(match['a']), op=match['op'], b=_said(match['b']))
    elif match := _UNARY.search(message):
        kinds = (match["a"],)
        said = msg("cannot compute {op}{a}", op=match['op'], a=_said(match['a']))
    elif match := _NOT_ITERABLE.search(message):
        kinds = (match["a"],)
        said = msg("'in' needs a list of values such as (3, 4), not {a}", a=_said(match['a']))
    elif isinstance(exc, AttributeError) or "object has no attribute" in message:
        # A helper given a number or a text where it takes a date (add_months(population, 1)).
        found = _QUOTED_TYPE.findall(message)
        kinds = tuple(found)
        said = msg("a function was given {a} where it takes a date",
                   a=_said(found[0]) if found else msg("a value"))
    else:
        # Never Python's own words: name the kinds of value involved, if any can be seen.
        kinds = tuple(_QUOTED_TYPE.findall(message))
        said = (msg("values of the wrong kind ({kinds})",
                    kinds=[_TERM_TEXTS[term] for term in dict.fromkeys(_term(k) for k in kinds)])
                if kinds else msg("values of the wrong kind"))
    terms = {_term(kind) for kind in kinds}
    if "a date" in terms and "a text" in terms:
        hint = msg("write a date as as_date('2024-01-01')")
    elif "nothing (None)" in terms:
        hint = msg("a value is missing: test it first (x is not None)")
    elif "a duration" in terms:
        hint = msg("count the days between two dates with days_between(start, end)")
    elif "a date" in terms and ("a number" in terms or "true/false" in terms):
        hint = msg("a date moves with add_months() or add_years(); days_between() counts the days between two")
    elif "a text" in terms and "a number" in terms:
        hint = msg("a number is written without quotes")
    else:
        hint = None
    return said, hint


class ExpressionFailure(Exception):
    """An expression could not be computed; ``message`` says why, for a diagnostic."""

    def __init__(self, code: str, message: Message, hint: Message | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint  # how to fix it, said after where it happened


def bounded(value):
    """``value`` when it is within the engine's bounds; OverflowError otherwise.

    Decimals are bounded by DECIMAL_CONTEXT (its Emax); whole numbers are Python ints,
    which have no bound of their own. A NaN or an infinity is never a value.

    >>> bounded(10 ** 17)
    100000000000000000
    >>> bounded(10 ** 18)
    Traceback (most recent call last):
    ...
    OverflowError: a number of 19 digits or more: beyond the engine's bound of 10**18
    """
    kind = type(value)
    if kind is int:
        if -MAX_MAGNITUDE < value < MAX_MAGNITUDE:
            return value
        raise OverflowError(msg("a number of {more} digits or more: beyond the engine's bound of 10**{digits}",
                                more=MAX_MAGNITUDE_DIGITS + 1, digits=MAX_MAGNITUDE_DIGITS))
    if kind is Decimal and not value.is_finite():
        raise OverflowError(msg("{value} is not a number", value=value))
    return value


# Decimals first in each operator: DECIMAL_CONTEXT bounds them (its Emax traps an overflow);
# only whole numbers and texts need the engine's own bound and simpleeval's length guard.
def _add(left, right):
    if type(left) is Decimal or type(right) is Decimal:
        return left + right
    return bounded(simpleeval.safe_add(left, right))


def _subtract(left, right):
    if type(left) is Decimal or type(right) is Decimal:
        return left - right
    return bounded(left - right)


def _multiply(left, right):
    if type(left) is Decimal or type(right) is Decimal:
        return left * right
    return bounded(simpleeval.safe_mult(left, right))


def _power(base, exponent):
    # Through Decimal in DECIMAL_CONTEXT, so that a tower such as ((10**10)**10)**10 overflows
    # (E402) instead of building an integer of millions of digits.
    if isinstance(base, int) and not isinstance(base, bool):
        base = Decimal(base)
    return base ** exponent


def _divide(left, right):
    if isinstance(left, int) and not isinstance(left, bool):
        left = Decimal(left)
    if isinstance(right, int) and not isinstance(right, bool):
        right = Decimal(right)
    return left / right


OPERATORS = {
    ast.Add: _add,
    ast.Sub: _subtract,
    ast.Mult: _multiply,
    ast.Div: _divide,
    ast.Pow: _power,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Gt: operator.gt,
    ast.Lt: operator.lt,
    ast.GtE: operator.ge,
    ast.LtE: operator.le,
    ast.Not: operator.not_,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.In: lambda x, y: operator.contains(y, x),
    ast.NotIn: lambda x, y: not operator.contains(y, x),
    ast.Is: lambda x, y: x is y,
    ast.IsNot: lambda x, y: x is not y,
}

# Exact arithmetic: an inexact or overflowing operation is an error, not a silent
# rounding (28 digits hold any amount of the ACI with room to spare).
DECIMAL_CONTEXT = decimal.Context(
    prec=28, rounding=decimal.ROUND_HALF_UP, Emax=MAX_MAGNITUDE_DIGITS - 1, Emin=-999,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)


def make_evaluator(names: dict, functions: dict) -> simpleeval.SimpleEval:
    """A fresh simpleeval evaluator over ``names`` and ``functions``.

    One evaluator serves one profile evaluation and is then dropped: simpleeval
    objects keep state between calls.
    """
    evaluator = simpleeval.SimpleEval(operators=OPERATORS, functions=functions, names=names)
    # The grammar accepts a list of values after 'in' (taille in (3, 4)); simpleeval's plain
    # evaluator knows no tuple nor list, and the fast path computes them natively.
    evaluator.nodes[ast.Tuple] = lambda node: tuple(evaluator._eval(item) for item in node.elts)
    evaluator.nodes[ast.List] = lambda node: [evaluator._eval(item) for item in node.elts]
    return evaluator


def evaluate_expression(evaluator: simpleeval.SimpleEval, expression: Expression):
    """Compute ``expression``; raise :class:`ExpressionFailure` with a readable reason."""
    try:
        with decimal.localcontext(DECIMAL_CONTEXT):
            return evaluator.eval(expression.text, previously_parsed=expression.node)
    except Exception as exc:  # noqa: BLE001 — failure_of says what each kind of failure means
        raise failure_of(exc) from None


def failure_of(exc: BaseException) -> ExpressionFailure:
    """What an exception raised while computing a formula means, on every backend (the reference
    evaluator and the generated code raise the same exceptions for the same operations).

    >>> failure_of(ZeroDivisionError()).code
    'E401'
    """
    if isinstance(exc, ExpressionFailure):
        return exc
    if isinstance(exc, ZeroDivisionError):  # decimal.DivisionByZero included
        return ExpressionFailure("E401", msg("division by zero"))
    if isinstance(exc, decimal.Overflow):
        return ExpressionFailure("E402", msg("a number beyond the engine's bound of 10**{digits}",
                                             digits=MAX_MAGNITUDE_DIGITS))
    if isinstance(exc, decimal.InvalidOperation):
        return ExpressionFailure("E402", msg("the arithmetic has no exact result (0/0, or a number too large)"))
    if isinstance(exc, (TypeError, AttributeError)):
        # AttributeError: a helper given a number where it takes a date (add_months(population, 1)).
        return ExpressionFailure("E402", *explain_type_error(exc))
    if isinstance(exc, (ValueError, ArithmeticError, simpleeval.InvalidExpression, NameError)):
        # NameError: a function the engine does not provide, in a tree altered after the checks.
        return ExpressionFailure("E402", msg("cannot compute: {reason}", reason=_reason(exc)))
    if isinstance(exc, RecursionError):
        return ExpressionFailure("E104", msg("expression too deeply nested"))
    raise exc
