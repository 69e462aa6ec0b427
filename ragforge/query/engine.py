"""QueryEngine: ask a question of an index, get an Answer whose claims cite pages of real files.

The pipeline is a graph (``engine.graph``, built by :func:`build_default_graph`) that can be inspected
(``engine.graph.to_mermaid()``) and changed node by node (``build_default_graph(rerank=my_node)``).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragforge.errors import NodeError, QueryError, RagforgeError
from ragforge.graph import END, START, CompiledGraph, RunResult, StateGraph
from ragforge.llm import ChatModel, Tool, ToolBox, make_chat_model
from ragforge.query import followup, nodes, routing, verdict
from ragforge.query.config import QueryConfig
from ragforge.query.followup import HistoryLike
from ragforge.query.rerank_llm import LLMReranker
from ragforge.query.state import QueryDeps, QueryState
from ragforge.retrieval.protocols import Searcher
from ragforge.retrieval.rerank import CrossEncoderReranker, Reranker
from ragforge.types import Answer, Citation

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from ragforge.store.store import WhereLike

NODE_NAMES = ("condense", "route", "retrieve", "call_tools", "join", "rerank", "synthesise", "check", "grade",
              "attempt", "rewrite", "finish")
_MODULES = {"condense": followup, "route": routing, "check": verdict, "grade": verdict, "attempt": verdict,
            "finish": verdict}


def build_default_graph(**replace: Callable[..., Any]) -> StateGraph:
    """The default query graph, uncompiled. Pass ``name=function`` to replace a node, e.g.
    ``build_default_graph(rerank=my_rerank)``; a node is ``f(state: QueryState, ctx) -> dict``."""
    unknown = set(replace) - set(NODE_NAMES)
    if unknown:
        raise QueryError(f"unknown query-graph nodes {sorted(unknown)}; the nodes are {list(NODE_NAMES)}")
    fns = {name: replace.get(name, getattr(_MODULES.get(name, nodes), name)) for name in NODE_NAMES}
    graph = StateGraph(QueryState, name="query")
    for name in NODE_NAMES:
        graph.add_node(name, fns[name])
    graph.add_conditional_edges(START, followup.after_start, ["condense", "route"])  # condense: history only
    graph.add_edge("condense", "route")
    graph.add_conditional_edges("route", routing.after_route, ["retrieve", "call_tools"])
    graph.add_edge("retrieve", "join")
    graph.add_edge("call_tools", "join")
    graph.add_edge("join", "rerank")
    graph.add_edge("rerank", "synthesise")
    graph.add_edge("synthesise", "check")
    graph.add_conditional_edges("check", verdict.after_check, ["grade", "attempt"])
    graph.add_edge("grade", "attempt")
    graph.add_conditional_edges("attempt", nodes.after_verdict, ["rewrite", "finish"])
    graph.add_conditional_edges("rewrite", nodes.after_rewrite, ["retrieve", "finish"])
    graph.add_edge("finish", END)
    return graph


def _reranker(config: QueryConfig, small_llm: ChatModel) -> Reranker | None:
    if config.rerank == "llm":
        return LLMReranker(small_llm)
    if config.rerank == "cross_encoder":
        return CrossEncoderReranker(config.cross_encoder or "")
    return None


def _unwrap(exc: NodeError) -> RagforgeError:
    """A node's own RagforgeError (e.g. LLMConnectionError) as raised, not wrapped in NodeError."""
    cause = exc.__cause__
    return cause if isinstance(cause, RagforgeError) else exc


def compact_trace(result: RunResult) -> list[dict[str, Any]]:
    """One line per node run (step, node, seconds, error, the node's events), then the run's status."""
    from ragforge.graph.state import jsonable

    lines = [{"type": "node", "step": r.step, "node": r.node, "duration": round(r.duration, 4),
              "error": r.error, "events": jsonable(r.events)} for r in result.trace.records]
    lines.append({"type": "end", "status": result.trace.status, "duration": round(result.trace.duration, 4)})
    return lines


class QueryEngine:
    """Grounded answers from an index.

    Args:
        index: an open :class:`~ragforge.Index` (anything with ``search(query, k, where=, mode=)``).
        llm: the answer model (a ChatModel); default ``make_chat_model(config.answer_model, host=config.host)``.
        small_llm: the model that routes, rewrites, grades and LLM-reranks; default ``config.small_model``
            (a model spec), else ``llm``.
        config: a :class:`QueryConfig`.
        tools: functions or :class:`~ragforge.llm.Tool` objects the router may call instead of (or as well
            as) searching.
        reranker: any ``Reranker``; default from ``config.rerank`` (none).
        graph: a replacement StateGraph (e.g. ``build_default_graph(rerank=...)``) or CompiledGraph.
    """

    def __init__(self, index: Searcher, llm: ChatModel | None = None, *, small_llm: ChatModel | None = None,
                 config: QueryConfig | None = None, tools: Iterable[Tool | Callable[..., Any]] = (),
                 reranker: Reranker | None = None, graph: StateGraph | CompiledGraph | None = None) -> None:
        self.index = index
        self.config = config or QueryConfig()
        self.llm = llm or make_chat_model(self.config.answer_model, host=self.config.host)
        if small_llm is None and self.config.small_model:
            small_llm = make_chat_model(self.config.small_model, host=self.config.host)
        self.small_llm = small_llm or self.llm
        self.tools = ToolBox(tools)
        self.reranker = reranker if reranker is not None else _reranker(self.config, self.small_llm)
        graph = graph if graph is not None else build_default_graph()
        self.graph: CompiledGraph = graph.compile() if isinstance(graph, StateGraph) else graph

    def __repr__(self) -> str:
        return f"QueryEngine(llm={getattr(self.llm, 'model', '?')!r}, tools={list(self.tools.tools)})"

    def close(self) -> None:
        """Stop the graph's worker threads (the index is the caller's to close)."""
        self.graph.close()

    def __enter__(self) -> QueryEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _deps(self, where: WhereLike, on_token: Callable[[str], None] | None, max_rewrites: int) -> QueryDeps:
        return QueryDeps(index=self.index, llm=self.llm, small_llm=self.small_llm, config=self.config,
                         tools=self.tools, reranker=self.reranker, where=where, max_rewrites=max_rewrites,
                         on_token=on_token)

    def run(self, question: str, *, where: WhereLike = None, on_event: Callable[[dict[str, Any]], None] | None = None,
            on_token: Callable[[str], None] | None = None, max_rewrites: int | None = None,
            history: HistoryLike | None = None) -> RunResult:
        """Run the graph and return its RunResult (final state, full trace). Errors are raised unwrapped.
        ``history``: the conversation before ``question`` (see :mod:`ragforge.query.followup`)."""
        if not question or not question.strip():
            raise QueryError("the question is empty")
        rewrites = self.config.max_rewrites if max_rewrites is None else max_rewrites
        deps = self._deps(where, on_token, rewrites)
        turns = followup.as_turns(history)
        state = {"question": question.strip(), **({"history": turns} if turns else {})}
        result = self.graph.run(state, deps=deps, step_limit=self.config.step_limit,
                                on_event=on_event)
        if isinstance(result.error, NodeError):
            raise _unwrap(result.error)  # keeps the original's own cause and traceback
        result.raise_for_error()
        return result

    def query(self, question: str, *, where: WhereLike = None, history: HistoryLike | None = None) -> Answer:
        """The grounded answer (or the refusal) with citations, the hits in the prompt and a compact trace.

        With ``history`` (earlier turns: Turns or ``(question, answer)`` pairs) a follow-up is first rewritten
        into a standalone question, which is what is searched and answered (``Answer.question``)."""
        result = self.run(question, where=where, history=history)
        answer = result.state.answer
        if not isinstance(answer, Answer):
            raise QueryError("the query graph ended without an answer (did a replaced node skip 'finish'?)")
        return answer.model_copy(update={"trace": compact_trace(result)})

    def stream(self, question: str, *, where: WhereLike = None,
               history: HistoryLike | None = None) -> Iterator[str | Citation | Answer]:
        """Yield the answer's text pieces as the model writes them, then each Citation, then the Answer.

        Streaming runs the same graph without rewrite rounds (streamed text cannot be taken back); the
        final Answer is checked as usual, so it may be a refusal even though text was streamed.
        """
        pieces: queue.Queue[Any] = queue.Queue()
        done = object()
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                box["result"] = self.run(question, where=where, on_token=pieces.put, max_rewrites=0,
                                         history=history)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                box["error"] = exc
            finally:
                pieces.put(done)

        thread = threading.Thread(target=work, name="ragforge-query-stream", daemon=True)
        thread.start()
        while (item := pieces.get()) is not done:
            yield item
        thread.join()
        if "error" in box:
            raise box["error"]
        answer = box["result"].state.answer.model_copy(update={"trace": compact_trace(box["result"])})
        yield from answer.citations
        yield answer


def ask(index: Searcher | str | Path, question: str, llm_model: str | ChatModel = "llama3.2", *,
        host: str | None = None, k: int = 5, small_model: str | ChatModel | None = None, timeout: float | None = None,
        config: QueryConfig | None = None, **engine_kwargs: Any) -> Answer:
    """One question, one Answer: open the index (a path or an Index) and ask ``llm_model``, a model spec
    (``qwen2.5-coder:1.5b`` on Ollama at ``host``, ``gguf:PATH``, ``openai:NAME@URL``) or a ChatModel;
    ``small_model`` routes/rewrites/grades when given; ``timeout`` is seconds per LLM call; ``config``
    overrides the retrieval and answer settings.

    The model's server (or file) is checked before the index is opened, so a server that is down costs a
    second, not a model load: the LLMError says what to run (``ollama serve`` / ``ollama pull NAME``).
    """
    from ragforge.retrieval.index import Index

    config = config or QueryConfig(k=k, candidates=max(20, k))
    llm = make_chat_model(llm_model, host=host, timeout=timeout)
    small = make_chat_model(small_model, host=host, timeout=timeout) if small_model is not None else None
    for chat in (llm, small):
        check = getattr(chat, "check", None)
        if callable(check):
            check()
    engine_kwargs = {"llm": llm, "small_llm": small, "config": config, **engine_kwargs}
    if isinstance(index, (str, Path)):
        with Index.open(Path(index)) as opened, QueryEngine(opened, **engine_kwargs) as engine:
            return engine.query(question)
    with QueryEngine(index, **engine_kwargs) as engine:
        return engine.query(question)
