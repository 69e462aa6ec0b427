"""Tools from typed functions and pydantic models: schemas, validation, the allow-list."""

from __future__ import annotations

from enum import Enum
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from ragforge.errors import ConfigError, ToolError
from ragforge.llm import Tool, ToolBox, ToolCall


class Unit(str, Enum):
    celsius = "celsius"
    fahrenheit = "fahrenheit"


class Point(BaseModel):
    lat: float
    lon: float = 0.0


class Route(BaseModel):
    """A route between named places."""

    name: str = Field(description="what to call it")
    stops: list[Point]
    mode: Literal["walk", "drive"] = "walk"


def weather(city: str, unit: Unit = Unit.celsius, days: int = 1, tags: list[str] | None = None) -> str:
    """Forecast for a city.

    Longer explanation that stays in the description.

    Args:
        city: the city name, e.g. Oslo
        unit: temperature unit
        days (int): how many days,
            at most 7
    """
    return f"{city}:{unit.value}:{days}:{tags}"


def plan(route: Route, priority: int | None = None) -> dict:
    """Plan a route."""
    return {"stops": len(route.stops), "priority": priority}


def test_function_schema_in_ollamas_shape():
    schema = Tool.from_function(weather).schema()
    assert schema["type"] == "function"
    fn = schema["function"]
    assert fn["name"] == "weather"
    assert fn["description"] == "Forecast for a city.\n\nLonger explanation that stays in the description."
    params = fn["parameters"]
    assert params["type"] == "object" and params["required"] == ["city"]
    props = params["properties"]
    assert props["city"] == {"type": "string", "description": "the city name, e.g. Oslo"}
    assert props["unit"]["enum"] == ["celsius", "fahrenheit"] and props["unit"]["default"] == "celsius"
    assert props["unit"]["description"] == "temperature unit"
    assert props["days"] == {"type": "integer", "default": 1, "description": "how many days, at most 7"}
    assert props["tags"]["anyOf"] == [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]
    assert "$defs" not in params and "title" not in str(params)


def test_nested_models_are_inlined():
    props = Tool.from_function(plan).parameters()["properties"]
    route = props["route"]
    assert route["type"] == "object" and route["required"] == ["name", "stops"]
    assert route["properties"]["stops"]["items"]["properties"]["lat"] == {"type": "number"}
    assert route["properties"]["mode"] == {"type": "string", "enum": ["walk", "drive"], "default": "walk"}
    assert route["properties"]["name"]["description"] == "what to call it"


def test_tool_from_pydantic_model():
    tool = Tool.from_model(Route, lambda r: f"{r.name}: {len(r.stops)} stops")
    fn = tool.schema()["function"]
    assert fn["name"] == "Route" and fn["description"] == "A route between named places."
    assert tool.invoke({"name": "x", "stops": [{"lat": 1}]}) == "x: 1 stops"
    assert isinstance(Tool.from_model(Route).invoke({"name": "y", "stops": []}), Route)


def test_arguments_are_validated_and_coerced_before_the_call():
    assert Tool.from_function(weather).invoke({"city": "Oslo", "unit": "fahrenheit", "days": "3"}) == \
        "Oslo:fahrenheit:3:None"


def test_validation_errors_go_back_to_the_model_instead_of_raising():
    box = ToolBox([weather])
    message, value, ok = box.run(ToolCall(name="weather", arguments={"unit": "kelvin", "extra": 1}))
    assert not ok and value is None and message.role == "tool" and message.tool_name == "weather"
    assert "invalid arguments" in message.content
    for field in ("city", "unit", "extra"):
        assert f"- {field}:" in message.content


def test_allow_list_refuses_tools_not_given():
    called = []

    def secret() -> str:
        """Not offered."""
        called.append(1)
        return "leaked"

    box = ToolBox([weather])
    message, _, ok = box.run(ToolCall(name="secret", arguments={}))
    assert not ok and "no tool named 'secret'" in message.content and "weather" in message.content
    assert called == []


def test_results_are_rendered_as_text():
    call = ToolCall(name="plan", arguments={"route": {"name": "r", "stops": []}})
    message, value, ok = ToolBox([plan]).run(call)
    assert ok and value == {"stops": 0, "priority": None}
    assert message.content == '{"stops": 0, "priority": null}'


def test_a_failing_tool_function_raises_tool_error():
    def broken(x: int) -> int:
        """Always fails."""
        raise RuntimeError("disk full")

    with pytest.raises(ToolError, match="tool 'broken' failed: RuntimeError: disk full"):
        ToolBox([broken]).run(ToolCall(name="broken", arguments={"x": 1}))


def test_bad_tool_definitions_are_config_errors():
    def star(*args: int) -> int:
        """Varargs."""
        return 0

    with pytest.raises(ConfigError):
        Tool.from_function(star)
    with pytest.raises(ConfigError):
        ToolBox([weather, weather])
    with pytest.raises(ConfigError):
        Tool.from_function(weather, name="has space")
