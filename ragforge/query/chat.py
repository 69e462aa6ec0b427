"""Conversations: :class:`ChatSession` asks a :class:`~ragforge.query.QueryEngine` question after question,
each seeing the turns before it (a follow-up is rewritten into a standalone question, see
:mod:`ragforge.query.followup`).

    with open_chat("my-index", "qwen2.5-coder:1.5b", session="trip") as chat:
        chat.ask("When did the Eiffel Tower open?")
        chat.ask("How tall is it?").question        # "How tall is the Eiffel Tower?"

With a session name, the turns are checkpointed after every answer by a one-node graph (``remember``) on a
:class:`~ragforge.graph.Checkpointer`, by default ``SqliteCheckpointer($RAGFORGE_HOME/chat.sqlite)`` with the
session's name as the thread id, so a later ChatSession of that name (another process, another day) resumes
with them. A session keeps its last :data:`KEEP_TURNS` turns.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ragforge.config import data_dir
from ragforge.errors import QueryError
from ragforge.graph import END, START, Checkpointer, CompiledGraph, SqliteCheckpointer, StateGraph
from ragforge.llm import ChatModel, make_chat_model
from ragforge.query.config import QueryConfig
from ragforge.query.engine import QueryEngine
from ragforge.query.state import Turn
from ragforge.types import Answer, Citation

KEEP_TURNS = 50  # turns a checkpointed session keeps (the rewrite reads only the last few)


class _Memory(BaseModel):
    history: list[Turn] = Field(default_factory=list)
    turn: Turn | None = None


def _remember(state: _Memory) -> dict[str, Any]:
    added = [state.turn] if state.turn is not None else []
    return {"history": [*state.history, *added][-KEEP_TURNS:], "turn": None}


def memory_graph(checkpointer: Checkpointer) -> CompiledGraph:
    """The one-node graph whose checkpoints hold a chat session's turns (thread id: the session's name)."""
    graph = StateGraph(_Memory, name="chat").add_node("remember", _remember)
    return graph.add_edge(START, "remember").add_edge("remember", END).compile(checkpointer=checkpointer)


def default_checkpointer() -> SqliteCheckpointer:
    """Where named chat sessions live: ``$RAGFORGE_HOME/chat.sqlite`` (``~/.ragforge/chat.sqlite``)."""
    return SqliteCheckpointer(data_dir() / "chat.sqlite")


class ChatSession:
    """A conversation with a QueryEngine: every question sees the turns before it.

    ``session``: a name under which the turns are checkpointed after each answer (``checkpointer``, default
    :func:`default_checkpointer`); a ChatSession opened later with the same name starts from them. Without a
    name the conversation lives in this object only. ``history`` is the list of turns, oldest first.
    """

    def __init__(self, engine: Any, session: str | None = None, *, checkpointer: Checkpointer | None = None) -> None:
        self.engine = engine
        self.session = session
        self.history: list[Turn] = []
        self._memory: CompiledGraph | None = None
        self._closers: list[Any] = []
        if session is not None:
            if not session.strip():
                raise QueryError("a chat session needs a name (--session NAME)")
            self._memory = memory_graph(checkpointer or default_checkpointer())
            snapshot = self._memory.get_state(session)
            if snapshot is not None:
                self.history = list(snapshot.state.history)

    def ask(self, question: str) -> Answer:
        """The answer to ``question`` read in the light of the conversation so far; the turn is remembered."""
        answer = self.engine.query(question, history=self.history)
        self._remember(question, answer)
        return answer

    def stream(self, question: str) -> Iterator[str | Citation | Answer]:
        """:meth:`QueryEngine.stream` with the conversation; the turn is remembered when the Answer comes."""
        for item in self.engine.stream(question, history=self.history):
            if isinstance(item, Answer):
                self._remember(question, item)
            yield item

    def reset(self) -> None:
        """Forget the conversation (and its checkpoints)."""
        self.history = []
        if self._memory is not None and self._memory.checkpointer is not None and self.session is not None:
            self._memory.checkpointer.delete(self.session)

    def _remember(self, question: str, answer: Answer) -> None:
        turn = Turn(question=question.strip(), answer=answer.text)
        if self._memory is None:
            self.history = [*self.history, turn][-KEEP_TURNS:]
            return
        state = self._memory.invoke({"history": self.history, "turn": turn}, thread_id=self.session)
        self.history = list(state.history)

    def close(self) -> None:
        """Close what :func:`open_chat` opened (the engine's threads, the index)."""
        if self._memory is not None:
            self._memory.close()
        while self._closers:
            self._closers.pop().close()

    def __enter__(self) -> ChatSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_chat(index: str | Path, llm_model: str | ChatModel = "llama3.2", *, host: str | None = None, k: int = 5,
              small_model: str | ChatModel | None = None, timeout: float | None = None,
              session: str | None = None, config: QueryConfig | None = None,
              checkpointer: Checkpointer | None = None) -> ChatSession:
    """What ``ragforge chat`` opens: the index at ``index``, an engine on ``llm_model`` (and ``small_model`` for
    the rewrites, when given; specs as in :func:`~ragforge.query.ask`), and a ChatSession (resumed when
    ``session`` names one). The model's server or file is checked first. Close it (or use ``with``)."""
    from ragforge.retrieval.index import Index

    llm = make_chat_model(llm_model, host=host, timeout=timeout)
    small = make_chat_model(small_model, host=host, timeout=timeout) if small_model is not None else None
    for chat in (llm, small):
        check = getattr(chat, "check", None)
        if callable(check):
            check()
    opened = Index.open(Path(index))
    try:
        engine = QueryEngine(opened, llm=llm, small_llm=small,
                             config=config or QueryConfig(k=k, candidates=max(20, k)))
        chat_session = ChatSession(engine, session, checkpointer=checkpointer)
    except BaseException:
        opened.close()
        raise
    chat_session._closers = [opened, engine]
    return chat_session
