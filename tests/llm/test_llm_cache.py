"""The response cache: keys stable across dict ordering, hits, misses, bypass, SQLite persistence, streams."""

from __future__ import annotations

import contextlib

from ragforge.llm import CachedChat, MemoryCache, OllamaChat, SqliteCache, request_key
from ragforge.testing.chat import ScriptedChatModel

MESSAGES = [{"role": "user", "content": "hi"}]


def test_key_is_stable_across_dict_ordering():
    a = request_key("m", [{"role": "user", "content": "hi"}], options={"temperature": 0, "seed": 1},
                    format={"type": "object", "properties": {"x": {"type": "integer"}}})
    b = request_key("m", [{"content": "hi", "role": "user"}], options={"seed": 1, "temperature": 0},
                    format={"properties": {"x": {"type": "integer"}}, "type": "object"})
    assert a == b and len(a) == 64


def test_key_changes_with_every_part_of_the_request():
    base = request_key("m", MESSAGES)
    assert request_key("other", MESSAGES) != base
    assert request_key("m", [{"role": "user", "content": "hi!"}]) != base
    assert request_key("m", MESSAGES, options={"temperature": 0}) != base
    assert request_key("m", MESSAGES, format="json") != base
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    assert request_key("m", MESSAGES, tools=[tool]) != base


def test_hits_and_misses():
    inner = ScriptedChatModel(["first", "second"])
    cached = CachedChat(inner, MemoryCache())
    one = cached.chat(MESSAGES)
    two = cached.chat([{"content": "hi", "role": "user"}])
    assert (one.text, one.cached) == ("first", False)
    assert (two.text, two.cached) == ("first", True)
    assert len(inner.calls) == 1
    three = cached.chat(MESSAGES, options={"temperature": 0.5})
    assert (three.text, three.cached) == ("second", False)


def test_bypass_neither_reads_nor_writes():
    inner = ScriptedChatModel(["a", "b", "c"])
    cached = CachedChat(inner, MemoryCache())
    cached.chat(MESSAGES)
    assert cached.chat(MESSAGES, cache=False).text == "b"
    assert cached.chat(MESSAGES).text == "a"  # the bypassed reply was not stored
    assert CachedChat(inner, cached.cache, bypass=True).chat(MESSAGES).text == "c"


def test_failures_are_not_cached():
    from ragforge.errors import LLMServerError

    inner = ScriptedChatModel([LLMServerError("x"), "ok"])
    cached = CachedChat(inner, MemoryCache())
    with contextlib.suppress(LLMServerError):
        cached.chat(MESSAGES)
    assert cached.chat(MESSAGES).text == "ok"


def test_memory_cache_evicts_least_recently_used():
    cache = MemoryCache(max_entries=2)
    cache.set("a", "1")
    cache.set("b", "2")
    cache.get("a")
    cache.set("c", "3")
    assert cache.get("b") is None and cache.get("a") == "1" and len(cache) == 2


def test_sqlite_cache_survives_a_restart(tmp_path):
    path = tmp_path / "cache" / "llm.sqlite"
    first = CachedChat(ScriptedChatModel(["stored"]), SqliteCache(path))
    first.chat(MESSAGES)
    first.cache.close()
    reopened = SqliteCache(path)
    again = CachedChat(ScriptedChatModel([]), reopened).chat(MESSAGES)
    assert again.text == "stored" and again.cached and len(reopened) == 1


def test_ollama_chat_caches_by_default_and_bypasses_on_request(stub):
    llm = OllamaChat("llama3.2", host=stub.host)
    assert not llm.chat(MESSAGES).cached
    assert llm.chat(MESSAGES).cached
    assert not llm.chat(MESSAGES, cache=False).cached
    assert len(stub.bodies()) == 2
    OllamaChat("llama3.2", host=stub.host, cache=None).chat(MESSAGES)
    assert len(stub.bodies()) == 3  # a new instance has its own cache (no global state)


def test_streams_fill_and_read_the_cache(stub):
    llm = OllamaChat("llama3.2", host=stub.host)
    first = llm.stream("tell me")
    assert "".join(first) == "echo: tell me"
    second = llm.stream("tell me")
    assert list(second) == ["echo: tell me"] and second.result.cached
    assert len(stub.bodies()) == 1
