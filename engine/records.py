"""Records: the engine's dataclasses, made without compiling code when their module is imported.

``@dataclasses.dataclass(frozen=True)`` writes each class's methods (``__init__``, ``__repr__``,
``__eq__``, ``__hash__``, ``__setattr__``, ``__delattr__``) as Python source and compiles it as
the module is imported: about 1 ms a class on Python 3.11, and some forty classes stand on the
way of every command, which made them the largest part of the time `aci-rules eval` spent
importing the engine (see the README, "Performance").

``@record`` makes the same class. It is a dataclass: :mod:`dataclasses` itself reads its
fields, defaults and ``dataclasses.field()`` options, and ``fields``, ``replace``, ``asdict``,
pickle and copy work on it as before. Its methods behave as dataclasses' do (same arguments,
same ``repr``, same equality and hash over the same fields, the same refusal to change a
frozen instance), but ``__repr__``, ``__eq__``, ``__hash__`` and the refusals are shared
functions reading the class's field names, and ``__init__`` (the one method whose speed
counts, and the one that checks the arguments) is generated as dataclasses would generate it,
when the first instance is made. A class whose instances only come out of the compiled-texts
cache never pays for it: pickle does not call ``__init__``.

It has no ``order`` and no ``slots``; an ``InitVar`` field is refused when the class is made.
"""

from __future__ import annotations

import dataclasses
import operator
import reprlib

__all__ = ["record"]

_MISSING = dataclasses.MISSING


def record(cls=None, /, *, eq: bool = True, frozen: bool = True):
    """``@record``, ``@record(eq=False)``, ``@record(frozen=False)``: as ``@dataclasses.dataclass``
    with ``frozen=True`` (or as given) and the same ``eq``. Takes and returns the class."""

    def wrap(klass):
        return _make(klass, eq, frozen)

    return wrap if cls is None else wrap(cls)


def _make(cls, eq: bool, frozen: bool):
    own = cls.__dict__
    if frozen and ("__setattr__" in own or "__delattr__" in own):
        raise TypeError(f"cannot overwrite __setattr__ or __delattr__ in the frozen record {cls.__name__}")
    # dataclasses' rule: a __hash__ of the class's own is kept, unless Python set it to None
    # because the class defines __eq__.
    class_hash = own.get("__hash__", _MISSING)
    explicit_hash = not (class_hash is _MISSING or (class_hash is None and "__eq__" in own))
    cls = dataclasses.dataclass(cls, init=False, repr=False, eq=False)  # the fields only: no code compiled
    fields = dataclasses.fields(cls)
    if any("InitVar" in str(f.type) for f in cls.__dataclass_fields__.values()):
        raise TypeError(f"record {cls.__name__}: InitVar fields are not supported")
    _check_order(cls, fields)
    names = tuple(f.name for f in fields)

    def install(name, value):
        if name not in own:  # as dataclasses: a method the class writes itself is kept
            setattr(cls, name, value)

    install("__init__", _first_init)
    cls._record_repr = tuple(f.name for f in fields if f.repr)
    install("__repr__", _repr)
    if eq:
        cls._record_key = staticmethod(_getter(tuple(f.name for f in fields if f.compare)))
        install("__eq__", _eq)
        if not explicit_hash:
            if frozen:
                cls._record_hash = staticmethod(_getter(tuple(
                    f.name for f in fields if (f.compare if f.hash is None else f.hash))))
                cls.__hash__ = _hash
            else:
                cls.__hash__ = None  # mutable and compared by value: unhashable, as a dataclass
    if frozen:
        def __setattr__(self, name, value):
            if type(self) is cls or name in names:
                raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
            super(cls, self).__setattr__(name, value)

        def __delattr__(self, name):
            if type(self) is cls or name in names:
                raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
            super(cls, self).__delattr__(name)

        for method in (__setattr__, __delattr__):
            method.__qualname__ = f"{cls.__qualname__}.{method.__name__}"
            setattr(cls, method.__name__, method)
    cls._record_frozen = frozen
    return cls


def _check_order(cls, fields) -> None:
    """A positional argument without a default after one with a default is refused, as dataclasses does."""
    seen_default = False
    for f in fields:
        if not f.init or f.kw_only:
            continue
        if f.default is not _MISSING or f.default_factory is not _MISSING:
            seen_default = True
        elif seen_default:
            raise TypeError(f"non-default argument {f.name!r} follows default argument in record {cls.__name__}")


def _getter(names: tuple):
    """A function of an instance giving the tuple of the values of ``names``."""
    if len(names) >= 2:
        return operator.attrgetter(*names)
    if len(names) == 1:
        one = operator.attrgetter(names[0])
        return lambda instance: (one(instance),)
    return lambda instance: ()


def _first_init(self, *args, **kwargs):
    # The class's __init__ is compiled at its first instance, then replaces this one.
    cls = next(klass for klass in type(self).__mro__ if klass.__dict__.get("__init__") is _first_init)
    cls.__init__ = _compiled_init(cls)
    cls.__init__(self, *args, **kwargs)


def _compiled_init(cls):
    """The ``__init__`` dataclasses would write for ``cls``: the same parameters, defaults and
    factories, ``__post_init__`` called last."""
    frozen = cls._record_frozen
    fields = dataclasses.fields(cls)
    this = "__dataclass_self__" if "self" in {f.name for f in fields} else "self"  # as dataclasses names it
    namespace = {"__set": object.__setattr__, "__factory_marker": _FACTORY}
    positional, keyword, body = [], [], []
    for f in fields:
        name = f.name
        if f.default is not _MISSING:
            namespace[f"__default_{name}"] = f.default
            default, value = f"__default_{name}", name
        elif f.default_factory is not _MISSING:
            namespace[f"__factory_{name}"] = f.default_factory
            default, value = "__factory_marker", f"__factory_{name}() if {name} is __factory_marker else {name}"
        else:
            default, value = None, name
        if f.init:
            parameter = name if default is None else f"{name}={default}"
            (keyword if f.kw_only else positional).append(parameter)
        elif f.default is not _MISSING:
            value = f"__default_{name}"
        elif f.default_factory is not _MISSING:
            value = f"__factory_{name}()"
        else:
            continue  # no value to give it: as dataclasses, the attribute stays unset
        body.append(f"  __set({this}, {name!r}, {value})" if frozen else f"  {this}.{name} = {value}")
    if hasattr(cls, "__post_init__"):
        body.append(f"  {this}.__post_init__()")
    parameters = ", ".join([this] + positional + (["*"] + keyword if keyword else []))
    source = f"def __init__({parameters}):\n" + "\n".join(body or ["  pass"]) + "\n"
    exec(source, namespace)  # noqa: S102 — the class's own field names, as dataclasses does
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__annotations__ = {f.name: f.type for f in fields if f.init} | {"return": None}
    return init


class _FactoryMarker:
    def __repr__(self):
        return "<factory>"


_FACTORY = _FactoryMarker()


@reprlib.recursive_repr()
def _repr(self):
    return f"{self.__class__.__qualname__}({', '.join(f'{n}={getattr(self, n)!r}' for n in self._record_repr)})"


def _eq(self, other):
    if other.__class__ is self.__class__:
        return self._record_key(self) == self._record_key(other)
    return NotImplemented


def _hash(self):
    return hash(self._record_hash(self))
