"""A French reading of a formula, for the diff: the formula stays as written, this says it aloud.

Names the engine provides and the helper functions are read in words; operators become
« et », « ou », « non », « ≤ »…; names of the ruleset (parameters, definitions, lines) stay
as written, since the diff shows each with its label.
"""

from __future__ import annotations

import ast

__all__ = ["read_formula"]

# The names the engine binds (README, « may read »), in words.
_NAMES = {
    "date": "la date d'évaluation",
    "population": "la population",
    "members": "le nombre de membres",
    "contract_signed": "la signature du contrat",
    "letter_of_intent_validated": "la validation de la lettre d'intention",
    "crises": "les crises déclarées",
    "taille": "la taille",
    "contract_year": "l'année de contrat",
    "contract_year_start": "le début de l'année de contrat",
    "contract_year_end": "la fin de l'année de contrat",
    "contract_end": "la fin du contrat",
    "text_in_force": "l'entrée en vigueur du texte",
    "started": "le démarrage de la mission",
    "deployed": "le déploiement de la mission",
    "achievement": "le taux d'atteinte de l'année",
    "indicators_earned": "les paliers d'indicateurs atteints",
}

_COMPARE = {ast.Eq: "=", ast.NotEq: "≠", ast.Lt: "<", ast.LtE: "≤", ast.Gt: ">", ast.GtE: "≥",
            ast.In: "parmi", ast.NotIn: "hors de"}
_ARITHMETIC = {ast.Add: "+", ast.Sub: "−", ast.Mult: "×", ast.Div: "/", ast.Pow: "puissance"}


def _of(text: str) -> str:
    """« de » before a reading, contracted as French requires (du, des).

    >>> _of("le démarrage"), _of("les crises"), _of("la date")
    ('du démarrage', 'des crises', 'de la date')
    """
    if text.startswith("le "):
        return "du " + text[3:]
    if text.startswith("les "):
        return "des " + text[4:]
    return "de " + text


def _grouped(text: str) -> str:
    # « le plus grand entre a et b plus 6 mois » would read as a sum: keep the group visible.
    return f"({text})" if " entre " in text or " parmi " in text else text


def _call(name: str, args: list[str]) -> str:
    if name == "prorata_temporis" and len(args) == 3:
        return f"le prorata temporis de l'année depuis {args[0]}"
    if name in ("add_months", "add_years") and len(args) == 2:
        unit = "mois" if name == "add_months" else "an(s)"
        if args[1].startswith("-"):
            return f"{_grouped(args[0])} moins {args[1][1:]} {unit}"
        return f"{_grouped(args[0])} plus {args[1]} {unit}"
    if name == "population_on" and len(args) == 1:
        when = args[0]
        if " plus " in when or " moins " in when:
            return f"la population à ({when})"
        return "la population " + ("au " + when[3:] if when.startswith("le ") else f"à {when}")
    if name == "count_between" and len(args) == 3:
        return f"le nombre {_of(args[0])} entre {args[1]} et {args[2]}"
    if name in ("max", "min") and args:
        which = "le plus grand" if name == "max" else "le plus petit"
        if len(args) == 2:
            return f"{which} entre {args[0]} et {args[1]}"
        return f"{which} parmi {', '.join(args)}"
    if name in ("sum_lines", "sum_maxima") and len(args) >= 2:
        what = "des montants" if name == "sum_lines" else "des maxima"
        which = {"id": "", "volet": "de volet ", "mission": "de la mission " if len(args) == 2 else "des missions "}
        return f"la somme {what} des lignes {which.get(args[0], args[0] + ' ')}{', '.join(args[1:])}"
    if name == "variable_part" and len(args) == 3:
        return f"la part variable {_of(args[0])} selon le taux d'atteinte ou les paliers"
    return f"{name}({', '.join(args)})"


_PRECEDENCE = {ast.Add: 1, ast.Sub: 1, ast.Mult: 2, ast.Div: 2, ast.Pow: 3}


def _operand(node: ast.AST, parent: ast.BinOp, right: bool) -> str:
    # A condition, an alternative or a looser operation inside arithmetic keeps its parentheses.
    if isinstance(node, (ast.IfExp, ast.BoolOp, ast.Compare)):
        return f"({_read(node)})"
    if isinstance(node, ast.BinOp):
        inner, outer = _PRECEDENCE.get(type(node.op), 0), _PRECEDENCE.get(type(parent.op), 0)
        if inner < outer or (right and inner == outer and isinstance(parent.op, (ast.Sub, ast.Div))):
            return f"({_read(node)})"
    return _read(node)


def _read(node: ast.AST) -> str:
    if isinstance(node, ast.BoolOp):
        word = " et " if isinstance(node.op, ast.And) else " ou "
        return word.join(_read(v) for v in node.values)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return f"non ({_read(node.operand)})"
    if isinstance(node, ast.UnaryOp):
        return f"-{_read(node.operand)}"
    if isinstance(node, ast.Compare):
        if (len(node.ops) == 1 and isinstance(node.ops[0], (ast.Is, ast.IsNot))
                and isinstance(node.comparators[0], ast.Constant) and node.comparators[0].value is None):
            verb = "est connu(e)" if isinstance(node.ops[0], ast.IsNot) else "n'est pas connu(e)"
            return f"{_read(node.left)} {verb}"
        parts = [_read(node.left)]
        for op, right in zip(node.ops, node.comparators):
            parts += [_COMPARE.get(type(op), "?"), _read(right)]
        return " ".join(parts)
    if isinstance(node, ast.BinOp):
        return (f"{_operand(node.left, node, False)} {_ARITHMETIC.get(type(node.op), '?')} "
                f"{_operand(node.right, node, True)}")
    if isinstance(node, ast.IfExp):
        return f"{_read(node.body)} si {_read(node.test)}, sinon {_read(node.orelse)}"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return _call(node.func.id, [_read(a) for a in node.args])
    if isinstance(node, ast.Name):
        return _NAMES.get(node.id, node.id)
    if isinstance(node, ast.Constant):
        if node.value is None:
            return "aucun"
        if isinstance(node.value, bool):
            return "vrai" if node.value else "faux"
        return str(node.value)
    if isinstance(node, (ast.Tuple, ast.List)):
        return "(" + ", ".join(_read(e) for e in node.elts) + ")"
    return ast.unparse(node)


def read_formula(text: str) -> str | None:
    """The formula in words, or None when the words would add nothing (a bare name or number).

    >>> read_formula("en_cours and started is not None and started <= contract_year_end")
    "en_cours et le démarrage de la mission est connu(e) et le démarrage de la mission ≤ la fin de l'année de contrat"
    >>> read_formula("montant") is None
    True
    >>> read_formula("part / (1 - part) * sum_maxima('id', 'a', 'b')")
    'part / (1 − part) × la somme des maxima des lignes a, b'
    >>> read_formula("add_months(date, -preavis)")
    "la date d'évaluation moins preavis mois"
    """
    try:
        node = ast.parse(" ".join(text.split()), mode="eval").body
    except (SyntaxError, ValueError, RecursionError):
        return None
    if isinstance(node, (ast.Name, ast.Constant)):
        return None
    return _read(node)
