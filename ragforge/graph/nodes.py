"""Node and router specs: how a plain function (sync or async) or a Runnable is called by the run loop."""

from __future__ import annotations

import enum
import inspect
import types
import typing
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ragforge.errors import GraphBuildError
from ragforge.retry import RetryPolicy

from .context import RunContext

__all__ = ["END", "START", "Branch", "CallStyle", "Convention", "NodeSpec", "Send"]

START = "__start__"
END = "__end__"

_CTX_NAMES = ("context", "ctx")

Caller = Callable[[Any, RunContext | None], Any]  # call(arg, ctx): a node or router with its convention applied


@dataclass(frozen=True)
class Send:
    """Run ``node`` once with ``arg`` as its input instead of the state (fan-out over a list).

    A router returns a list of these: ``[Send("search", {"query": q}) for q in state.queries]``. Each Send is
    its own task in the next step; their updates merge through the reducers in list order. ``arg`` must be
    JSON-compatible if the run is checkpointed.
    """

    node: str
    arg: Any = None


class CallStyle(enum.Enum):
    """How the run loop calls a node or a router, read once from its signature at ``add_node``."""

    STATE = "f(state)"
    POSITIONAL = "f(state, ctx)"
    KEYWORD = "f(state, <name>=ctx)"


@dataclass(frozen=True, slots=True)
class Convention:
    """A call style and, for ``KEYWORD``, the parameter name the RunContext goes to."""

    style: CallStyle
    ctx_name: str = ""

    @property
    def wants_context(self) -> bool:
        return self.style is not CallStyle.STATE

    @classmethod
    def of(cls, fn: Callable[..., Any]) -> Convention:
        """``f(state)``, ``f(state, ctx)`` (two required positional parameters, or a positional-only one named
        ``ctx``/``context``), or ``f(state, ctx=...)`` (a parameter named ``ctx``/``context``)."""
        try:
            params = list(inspect.signature(fn).parameters.values())
        except (TypeError, ValueError):
            return _BY_STATE
        for index, param in enumerate(params):
            if param.name in _CTX_NAMES and index > 0:
                if param.kind is inspect.Parameter.POSITIONAL_ONLY:
                    return _BY_POSITION
                return cls(CallStyle.KEYWORD, param.name)
        required = [p for p in _positional(params) if p.default is inspect.Parameter.empty]
        return _BY_POSITION if len(required) >= 2 else _BY_STATE

    def bind(self, fn: Callable[..., Any]) -> Caller:
        """``fn`` as a ``call(arg, ctx)`` function, so the run loop never branches on the style."""
        if self.style is CallStyle.STATE:
            return lambda arg, ctx: fn(arg)
        if self.style is CallStyle.POSITIONAL:
            return fn
        name = self.ctx_name
        return lambda arg, ctx: fn(arg, **{name: ctx})


_BY_STATE = Convention(CallStyle.STATE)
_BY_POSITION = Convention(CallStyle.POSITIONAL)


def _positional(params: list[inspect.Parameter]) -> list[inspect.Parameter]:
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p for p in params if p.kind in kinds]


def is_async_callable(fn: Any) -> bool:
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(fn, "__call__", None)  # noqa: B004 - callable objects with an async __call__
    return call is not None and inspect.iscoroutinefunction(call)


def _as_callable(obj: Any, what: str) -> Callable[..., Any]:
    if inspect.isfunction(obj) or inspect.ismethod(obj) or inspect.isbuiltin(obj):
        return obj
    invoke = getattr(obj, "invoke", None)
    if callable(invoke):  # a Runnable (or a compiled graph) used as a node
        return typing.cast(Callable[..., Any], invoke)
    if callable(obj):
        return typing.cast(Callable[..., Any], obj)
    raise GraphBuildError(f"{what} must be a function or a Runnable, not {type(obj).__name__}")


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """One node: its callable, how to call it, and its policies. ``call(arg, ctx)`` runs it."""

    name: str
    fn: Callable[..., Any]
    is_async: bool
    convention: Convention
    call: Caller = field(repr=False, compare=False)
    retry: RetryPolicy | None = None
    timeout: float | None = None
    writes: frozenset[str] | None = None
    join: bool = False

    @classmethod
    def make(cls, name: str, obj: Any, *, retry: RetryPolicy | None, timeout: float | None,
             writes: Iterable[str] | None, join: bool) -> NodeSpec:
        fn = _as_callable(obj, f"node {name!r}")
        convention = Convention.of(fn)
        if timeout is not None and timeout <= 0:
            raise GraphBuildError(f"node {name!r}: timeout must be > 0 seconds")
        declared = frozenset(writes) if writes is not None else _declared_writes(fn)
        return cls(name, fn, is_async_callable(fn), convention, convention.bind(fn), retry, timeout, declared,
                   join)


def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except Exception:  # noqa: BLE001 - unresolvable forward references: we just learn nothing from them
        return {}


def _declared_writes(fn: Callable[..., Any]) -> frozenset[str] | None:
    """Fields a node writes, from a return annotation that is a TypedDict or a pydantic model."""
    ret = _hints(fn).get("return")
    if isinstance(ret, type) and issubclass(ret, dict) and hasattr(ret, "__annotations__"):
        return frozenset(typing.get_type_hints(ret))
    fields = getattr(ret, "model_fields", None)
    return frozenset(fields) if isinstance(ret, type) and isinstance(fields, dict) else None


@dataclass(frozen=True, slots=True)
class Branch:
    """A conditional edge: ``router(state)`` returns a key (or a list of keys / Sends); mapping -> nodes."""

    source: str
    router: Callable[..., Any]
    convention: Convention
    call: Caller = field(repr=False, compare=False)
    mapping: Mapping[Hashable, str]
    literal_keys: tuple[Hashable, ...] | None = None
    multi: bool = False
    targets: tuple[str, ...] = ()

    @classmethod
    def make(cls, source: str, router: Any, mapping: Any) -> Branch:
        fn = _as_callable(router, f"router of {source!r}")
        keys, multi = _router_keys(fn)
        table: dict[Hashable, str]
        if mapping is None:
            if keys is None:
                raise GraphBuildError(
                    f"conditional edge from {source!r}: give a mapping (dict or list of nodes) or annotate "
                    f"the router's return type with Literal[...] so compile() can check the targets")
            table = {k: typing.cast(str, k) for k in keys}  # checked by compile()
        elif isinstance(mapping, dict):
            table = dict(mapping)
        elif isinstance(mapping, (list, tuple, set, frozenset)):
            table = {name: name for name in mapping}
        else:
            raise GraphBuildError(f"conditional edge from {source!r}: mapping must be a dict or a list")
        targets = tuple(dict.fromkeys(table.values()))
        convention = Convention.of(fn)
        return cls(source, fn, convention, convention.bind(fn), types.MappingProxyType(table), keys, multi,
                   targets)


def _router_keys(fn: Callable[..., Any]) -> tuple[tuple[Hashable, ...] | None, bool]:
    """Keys a router can return, read from a ``Literal[...]`` (or ``list[Literal[...]]``) annotation."""
    ret = _hints(fn).get("return")
    if ret is None:
        return None, False
    multi = False
    origin = typing.get_origin(ret)
    if origin in (list, tuple, typing.Union, types.UnionType) or ret is Send:
        multi = origin in (list, tuple) or ret is Send
        args = [a for a in typing.get_args(ret) if a is not Ellipsis]
        lits = [a for a in args if typing.get_origin(a) is Literal]
        if any(a is Send or typing.get_origin(a) in (list, tuple) for a in args):
            multi = True
        if len(lits) != 1:
            return None, multi
        ret = lits[0]
    if typing.get_origin(ret) is Literal:
        return tuple(typing.get_args(ret)), multi
    return None, multi
