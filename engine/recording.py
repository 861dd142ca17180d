"""A recording hook: who wants to see each evaluation as it is made, without changing it.

The evaluator and the case runner announce what they compute (a :class:`~.evaluate.Result`,
a :class:`~.schedule.Schedule`) with :func:`notify`; a consumer such as the coverage of
test cases listens inside :func:`observing`. Recording stays apart from rendering, as
OpenFisca's tracer keeps it: nothing here formats or decides anything, and with no
listener :func:`notify` costs one context-variable read.
"""

from __future__ import annotations

import contextlib
import contextvars

__all__ = ["notify", "observing"]

_LISTENERS: contextvars.ContextVar = contextvars.ContextVar("aci_rules_listeners", default=())


def notify(event) -> None:
    """Hand ``event`` to every listener of the current context."""
    for listener in _LISTENERS.get():
        listener(event)


@contextlib.contextmanager
def observing(listener):
    """Call ``listener(event)`` for every event notified inside the ``with`` block."""
    token = _LISTENERS.set(_LISTENERS.get() + (listener,))
    try:
        yield
    finally:
        _LISTENERS.reset(token)
