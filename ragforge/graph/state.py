"""State schemas and reducers.

A graph's state is a pydantic model or a ``TypedDict``. Each field may name a reducer in its ``Annotated``
metadata; the reducer decides how a node's update is combined with the current value::

    class State(TypedDict):
        question: str                          # default: an update replaces the value
        notes: Annotated[list[str], append]    # updates are appended (a list extends, an item appends)

Inside a run the state is kept as the model instance (pydantic) or a plain dict (TypedDict); every merged
value is validated against its field's type before it is stored.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import to_jsonable_python

from ragforge.errors import GraphBuildError, GraphRunError, NodeError

__all__ = ["Reducer", "StateSchema", "add", "append", "jsonable", "merge_dict", "replace"]

Reducer = Callable[[Any, Any], Any]


def replace(current: Any, update: Any) -> Any:
    """The default: the update replaces the current value."""
    return update


def append(current: Any, update: Any) -> list[Any]:
    """Append to a list: a list or tuple update extends it, any other value is appended as one item."""
    base = list(current) if current is not None else []
    if isinstance(update, (list, tuple)):
        base.extend(update)
    else:
        base.append(update)
    return base


def add(current: Any, update: Any) -> Any:
    """``current + update`` (numbers, strings, lists); a missing current value counts as nothing."""
    return update if current is None else current + update


def merge_dict(current: Any, update: Any) -> dict[Any, Any]:
    """Shallow dict merge: keys of the update win."""
    return {**(current or {}), **update}


def _is_reducer(meta: object) -> bool:
    if isinstance(meta, type) or not callable(meta):
        return False
    return not type(meta).__module__.startswith(("pydantic", "annotated_types"))


def _reducer_of(metadata: tuple[Any, ...] | list[Any]) -> Reducer | None:
    found = [m for m in metadata if _is_reducer(m)]
    return found[-1] if found else None


def _is_typeddict(schema: object) -> bool:
    return isinstance(schema, type) and issubclass(schema, dict) and hasattr(schema, "__annotations__")


class StateSchema:
    """Introspects a state class once (at compile time) and does the per-step work fast. Not changed after."""

    def __init__(self, schema: type) -> None:
        self.schema = schema
        self.model: type[BaseModel] | None = schema if isinstance(schema, type) and issubclass(schema,
                                                                                                 BaseModel) else None
        self.is_model = self.model is not None
        reducers: dict[str, Reducer] = {}
        self._adapters: dict[str, TypeAdapter[Any]] = {}
        self._frozen = False
        if self.model is not None:
            for name, info in self.model.model_fields.items():
                red = _reducer_of(info.metadata)
                if red is not None:
                    reducers[name] = red
            self.fields: tuple[str, ...] = tuple(self.model.model_fields)
            self._frozen = bool(self.model.model_config.get("frozen"))
            self._assign = self.model.__pydantic_validator__.validate_assignment
        elif _is_typeddict(schema):
            try:
                hints = typing.get_type_hints(schema, include_extras=True)
            except Exception as exc:  # NameError etc. from string annotations that cannot be resolved
                raise GraphBuildError(f"cannot resolve the annotations of {schema.__name__}: {exc}; define the "
                                      f"state class at module level") from exc
            for name, hint in hints.items():
                if typing.get_origin(hint) is typing.Annotated:
                    red = _reducer_of(hint.__metadata__)
                    if red is not None:
                        reducers[name] = red
                self._adapters[name] = TypeAdapter(hint)
            self.fields = tuple(hints)
        else:
            raise GraphBuildError(f"state schema must be a pydantic model or a TypedDict, not {schema!r}")
        self.reducers: Mapping[str, Reducer] = MappingProxyType(reducers)
        self.field_set = frozenset(self.fields)

    # -- building and showing states ------------------------------------------------------------------
    def initial(self, value: Any) -> Any:
        """Validate a run's input into a state. Raises GraphRunError when it does not fit the schema."""
        model = self.model
        try:
            if model is not None:
                if isinstance(value, model):
                    return value.model_copy()
                return model.model_validate(dict(value or {}))
            data = dict(value or {})
            unknown = set(data) - self.field_set
            if unknown:
                raise GraphRunError(f"input has fields not in {self.schema.__name__}: {sorted(unknown)}")
            return {k: self._adapters[k].validate_python(v) for k, v in data.items()}
        except ValidationError as exc:
            raise GraphRunError(f"input does not fit {self.schema.__name__}: {exc}") from exc

    def view(self, state: Any) -> Any:
        """What a node receives: the model instance, or a shallow copy of the dict."""
        return state if self.is_model else dict(state)

    def get(self, state: Any, name: str) -> Any:
        return getattr(state, name) if self.is_model else state.get(name)

    # -- merging updates -------------------------------------------------------------------------------
    def apply(self, state: Any, writes: list[tuple[str, dict[str, Any]]]) -> tuple[Any, dict[str, Any]]:
        """Merge the updates of one step, in the given (deterministic) order.

        ``writes`` holds ``(node, update)`` pairs. Returns the new state and the merged diff.
        Two writes to a field without a reducer in one step raise GraphRunError.
        """
        merged: dict[str, Any] = {}
        writers: dict[str, str] = {}
        for node, update in writes:
            for key, value in update.items():
                if key not in self.field_set:
                    raise NodeError(f"node {node!r} returned unknown state field {key!r}; fields are "
                                    f"{list(self.fields)}", node=node, state=self.output(state))
                reducer = self.reducers.get(key)
                if reducer is None:
                    if key in writers:
                        raise GraphRunError(
                            f"conflicting concurrent writes to field {key!r} by nodes {writers[key]!r} and "
                            f"{node!r} in one step; give the field a reducer, e.g. Annotated[list[str], append]")
                    merged[key] = value
                else:
                    current = merged[key] if key in merged else self.get(state, key)
                    merged[key] = reducer(current, value)
                writers[key] = node
        if not merged:
            return state, merged
        return self._store(state, merged, writers), merged

    def _store(self, state: Any, merged: dict[str, Any], writers: dict[str, str]) -> Any:
        key = ""
        try:
            model = self.model
            if model is not None and self._frozen:  # no assignment on frozen models: revalidate the whole
                new = model.model_validate({**dict(state), **merged})
                merged.update({k: getattr(new, k) for k in merged})
                return new
            if model is not None:
                copy = state.model_copy()
                for key, value in merged.items():
                    self._assign(copy, key, value)
                    merged[key] = getattr(copy, key)
                return copy
            data = dict(state)
            for key, value in merged.items():
                data[key] = merged[key] = self._adapters[key].validate_python(value)
            return data
        except ValidationError as exc:
            node = writers.get(key, "")
            raise NodeError(f"node {node!r} returned an invalid value for field {key!r}: {exc}",
                            node=node, state=self.output(state)) from exc

    # -- output and JSON -------------------------------------------------------------------------------
    def output(self, state: Any) -> Any:
        """The state as handed back to callers: a model instance, or a new dict."""
        return state if self.is_model else dict(state)

    def dump(self, state: Any) -> dict[str, Any]:
        """JSON-ready form of a state."""
        if self.is_model:
            return dict(state.model_dump(mode="json"))
        return {k: self._adapters[k].dump_python(v, mode="json") for k, v in state.items()}

    def load(self, data: dict[str, Any]) -> Any:
        """Revalidate a state from its JSON form."""
        return self.initial(data)


def jsonable(value: Any) -> Any:
    """Best-effort JSON form of any value (pydantic models dumped, unknown objects as repr)."""
    return to_jsonable_python(value, fallback=repr)
