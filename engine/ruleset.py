"""The compiled form of a ruleset: what the evaluator, and later diff and schedule, read.

Every object here is built once by :mod:`compiler` from a validated document and
never changes; expressions inside are already parsed and checked.
"""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal

from .expressions import Expression
from .records import record

__all__ = [
    "CONFIDENCE_ORDER",
    "weakest",
    "Parameter",
    "SizeClass",
    "Taille",
    "Mission",
    "Definition",
    "FundingLine",
    "Obligation",
    "Installment",
    "PaymentRule",
    "AnnualMaximum",
    "DatedProvision",
    "Ruleset",
]

# From the strongest to the weakest; a result is as strong as its weakest input. A figure a
# proposal puts forward ("proposed") is weaker than any figure of an enacted text: a result
# that rests on one is not the law, whatever else it reads.
CONFIDENCE_ORDER = ("confirmed", "derived", "unverified", "proposed")


def weakest(*tags: str | None) -> str:
    """The weakest of confidence tags (None ignored); 'confirmed' when none.

    >>> weakest("confirmed", "unverified", None)
    'unverified'
    >>> weakest("unverified", "proposed")
    'proposed'
    """
    present = [t for t in tags if t is not None]
    return max(present, key=CONFIDENCE_ORDER.index) if present else "confirmed"


@record
class Parameter:
    """A named value, or a value per taille, with its legal reference and confidence."""

    name: str
    label: str | None
    unit: str | None
    value: object  # int, Decimal, date or bool; None when by_taille
    by_taille: dict | None  # taille -> value
    reference: str
    confidence: str | dict  # a tag, or taille -> tag
    note: str | None
    path: tuple
    ranges: dict = dataclasses.field(default_factory=dict)  # taille (None: one value) -> plausible (min, max)
    range_reason: str = ""  # why the plausible ranges are what they are

    def value_for(self, taille: int | None):
        if self.by_taille is None:
            return self.value
        return self.by_taille.get(taille)

    def confidence_for(self, taille: int | None) -> str:
        if isinstance(self.confidence, dict):
            return self.confidence.get(taille, "unverified")
        return self.confidence


@record
class SizeClass:
    """One taille: the bounds of the basis (population...) it holds, both inclusive."""

    taille: int
    low: int  # inclusive
    high: int | None  # inclusive; None for no upper bound
    confidence: str
    note: str | None

    def contains(self, value) -> bool:
        return self.low <= value and (self.high is None or value <= self.high)


@record
class Taille:
    """How the size class is read: a basis (an expression) and its classes."""

    basis: Expression
    classes: tuple
    reference: str
    confidence: str

    def classify(self, value) -> SizeClass | None:
        for size_class in self.classes:
            if size_class.contains(value):
                return size_class
        return None


@record
class Mission:
    """A mission of the text (socle or optionnelle), with its own in-force date when later."""

    id: str
    label: str
    kind: str  # socle | optionnelle
    reference: str | None
    in_force: datetime.date | None = None  # its own entry into force, when later than its text's


@record
class Definition:
    """A named intermediate value: computed, readable by others, never paid."""

    name: str
    expression: Expression
    mission: str | None
    label: str | None
    path: tuple
    confidence: str | None = None  # caps what reads it: 'proposed' when a proposal sets it (engine/amend.py)


@record
class FundingLine:
    """A line of funding: when it applies, its amount and maximum (expressions), its article."""

    id: str
    label: str
    mission: str | None
    volet: str
    when: Expression | None
    amount: Expression
    maximum: Expression | None
    reference: str
    confidence: str | None  # declared by the line, caps the result
    note: str | None
    path: tuple
    runs_from: Expression | None = None  # the day its amount accrues from, in its contract year
    clawback: bool = False  # its amount may be negative (money paid back); else below zero is E411

    @property
    def name(self) -> str:
        return self.id


@record
class Obligation:
    """What a CPTS must do by a deadline (expressions), and when it is done."""

    id: str
    label: str
    mission: str | None
    when: Expression | None
    deadline: Expression
    done: Expression
    reference: str
    confidence: str | None
    path: tuple


@record
class Installment:
    """One payment of a payment rule: its share of the year's money and its due day."""

    label: str
    share: Expression
    due: Expression


@record
class PaymentRule:
    """When the money of a contract year is paid, for the lines of some volets."""

    id: str
    label: str
    volets: tuple
    when: Expression | None
    installments: tuple  # Installment
    reference: str
    confidence: str | None
    path: tuple


@record
class DatedProvision:
    """A provision with its own entry into force: what it is, and from when (made by
    :func:`.amend.dated_provisions`; here, so that a compiled ruleset read from the cache
    needs no module of consolidation)."""

    day: datetime.date
    description: str
    ruleset: str


@record
class AnnualMaximum:
    """The yearly maximum of a CPTS as the text states it: the sum of the maxima of some volets."""

    label: str
    volets: tuple
    reference: str
    note: str | None = None


@record(eq=False)
class Ruleset:
    """A compiled ruleset.

    ``order`` lists definitions and lines so that each comes after everything it
    reads; ``confidence`` maps each definition or line name to {taille: tag}, the
    weakest tag of the parameters it reads directly or through others;
    ``reads_taille`` holds the names whose result depends on the size class.
    """

    id: str
    title: str
    kind: str
    status: str
    reference: str
    signed: datetime.date | None
    published: datetime.date | None
    in_force: datetime.date
    until: datetime.date | None
    quantum: Decimal
    contract_years: int | None
    contract_reference: str | None
    taille: Taille | None
    parameters: dict
    missions: dict
    definitions: dict
    lines: tuple
    obligations: tuple
    order: tuple
    confidence: dict
    reads_taille: frozenset
    source: str
    chain: tuple  # ruleset ids from the first accord to this text
    positions: object = None  # yaml_loader.Positions: where each node was written (never the data)
    history: tuple = ()  # (id, in-force date) for each text of the chain
    provisions: tuple = ()  # DatedProvision: provisions of the chain with their own in-force date
    indicators: tuple = ()  # indicator definitions (informational)
    reads: dict = dataclasses.field(default_factory=dict)  # item name -> names it reads
    payments: tuple = ()  # PaymentRule, in order: the first that matches a line pays it
    annual_maximum: AnnualMaximum | None = None  # what the barème's yearly total adds up
    other_texts: tuple = ()  # crosstext.OtherText: the texts its formulas read what they give
    notes: tuple = ()  # Diagnostic warnings about the text itself, found when its chain was consolidated

    def in_force_on(self, day: datetime.date) -> bool:
        return self.in_force <= day and (self.until is None or day <= self.until)
