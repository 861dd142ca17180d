"""The names a formula may read, declared once.

The compiler checks every formula against this table (:mod:`compiler`), the plan
resolves each name to a slot of the kind declared here (:mod:`plan`), and the binder
fills those slots for one profile and one day (:mod:`bind`). A name the engine
provides appears nowhere else.

Kinds:

* ``profile``: what the CPTS profile says, and the evaluation date; the taille's
  basis may read these (``contract_signed`` is then the first contract's signature);
* ``time``: the contract year holding the day, and the text in force (the
  ``contract_signed`` every other formula reads is the contract running on the day);
* ``taille``: the size class, classified from the basis;
* ``mission``: what a formula attached to a mission (``mission: x``) reads of it.
"""

from __future__ import annotations

from .aggregates import AGGREGATES
from .crosstext import CROSS_TEXT_FUNCTIONS
from .helpers import LINE_FUNCTIONS, MISSION_FUNCTIONS, PROFILE_FUNCTIONS, PURE_FUNCTIONS

__all__ = [
    "READABLE",
    "BASIS_NAMES",
    "TIME_NAMES",
    "PROFILE_NAMES",
    "MISSION_NAMES",
    "FUNCTION_KINDS",
    "FUNCTION_NAMES",
]

# name -> kind, in the order the messages list them.
READABLE = {
    "date": "profile",
    "population": "profile",
    "members": "profile",
    "contract_signed": "time",
    "letter_of_intent_validated": "profile",
    "crises": "profile",
    "taille": "taille",
    "contract_year": "time",
    "contract_year_start": "time",
    "contract_year_end": "time",
    "contract_end": "time",
    "text_in_force": "time",
    "started": "mission",
    "deployed": "mission",
    "achievement": "mission",
    "indicators_earned": "mission",
}

# What the taille's basis may read (before any contract year or taille is known).
BASIS_NAMES = ("date", "population", "members", "contract_signed", "letter_of_intent_validated", "crises")
TIME_NAMES = tuple(name for name, kind in READABLE.items() if kind == "time")
# What every formula may read about the CPTS and the evaluation date.
PROFILE_NAMES = tuple(name for name, kind in READABLE.items() if kind != "mission")
# What a formula attached to a mission may read about that mission.
MISSION_NAMES = tuple(name for name, kind in READABLE.items() if kind == "mission")

# function -> kind: pure (a helper of the engine), profile (bound to the profile evaluated),
# lines (sum_lines / sum_maxima: expanded by the plan to the lines they select), aggregate
# (expanded by the compiler: no plan holds one), texts (what another text gives the same CPTS
# on the same day, bound by the binder: engine/crosstext.py).
FUNCTION_KINDS = {
    **{name: "pure" for name in PURE_FUNCTIONS},
    **{name: "profile" for name in MISSION_FUNCTIONS + PROFILE_FUNCTIONS},
    **{name: "lines" for name in LINE_FUNCTIONS},
    **{name: "aggregate" for name in AGGREGATES},
    **{name: "texts" for name in CROSS_TEXT_FUNCTIONS},
}
FUNCTION_NAMES = tuple(FUNCTION_KINDS)
