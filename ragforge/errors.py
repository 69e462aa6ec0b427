"""Every error ragforge raises on purpose derives from :class:`RagforgeError`.

Foreign exceptions (sqlite3, faiss, httpx, ollama, pypdf, ...) are caught at the boundary of the layer that
calls the foreign library and re-raised as one of these with ``from exc``. Messages say what happened and
what to do next.

    RagforgeError
    ├── ConfigError                  invalid settings or arguments
    ├── ReaderError                  one file could not be read (indexing skips it with a warning)
    │   └── UnsupportedFormatError   no reader for this suffix
    ├── ChunkingError
    ├── EmbeddingError               an embedding model failed to load or to encode
    ├── StoreError                   the on-disk index
    │   ├── IndexNotFoundError       no index at that path
    │   ├── IndexVersionError        built by another format version
    │   ├── ModelMismatchError       built with another embedding model / dimension
    │   ├── IndexLockedError         another process is writing this index
    │   └── IndexCorruptError        the files disagree with each other
    ├── ClusterError                 a Ray cluster cannot be reached, or failed during a sync
    ├── RetrievalError
    ├── LLMError                     anything from a chat model
    │   ├── LLMConnectionError       server not running / unreachable        (retryable)
    │   ├── LLMTimeoutError          a request exceeded its timeout          (retryable)
    │   ├── LLMRateLimitError        HTTP 429                                (retryable)
    │   ├── LLMServerError           HTTP 5xx                                (retryable)
    │   ├── LLMModelNotFoundError    HTTP 404: model not pulled
    │   ├── LLMRequestError          other 4xx
    │   │   └── LLMContextError      the prompt does not fit the model's context window
    │   ├── LLMResponseError         malformed reply
    │   ├── StructuredOutputError    typed output still invalid after the re-asks
    │   ├── ToolError                a tool call could not be carried out
    │   └── AgentStepLimitError      an agent ran out of steps
    ├── GraphError
    │   ├── GraphBuildError          found by compile(), before any node runs
    │   └── GraphRunError            raised while running
    │       ├── GraphStepLimitError  the step (recursion) limit was reached
    │       ├── NodeError            a node raised; the node is named
    │       ├── NodeTimeoutError     a node exceeded its timeout
    │       └── CheckpointError      a checkpoint is missing or unreadable
    ├── QueryError                   the RAG engine
    └── EvalError                    gold sets and evaluation
        └── DatasetError             a gold set is missing or malformed
"""

from __future__ import annotations


class RagforgeError(Exception):
    """Root of every error ragforge raises on purpose."""


class ConfigError(RagforgeError):
    """Settings or arguments are invalid."""


class ReaderError(RagforgeError):
    """One file could not be read. Indexing skips the file with a warning and goes on."""

    def __init__(self, message: str, *, path: str | None = None, reason: str = "unreadable") -> None:
        super().__init__(message)
        self.path = path
        self.reason = reason


class UnsupportedFormatError(ReaderError):
    """No reader is registered for this file's suffix."""


class ChunkingError(RagforgeError):
    """A document could not be split into chunks."""


class EmbeddingError(RagforgeError):
    """An embedding model failed to load or to encode."""


class StoreError(RagforgeError):
    """The on-disk index could not be read or written."""


class IndexNotFoundError(StoreError):
    """There is no index at the given path."""


class IndexVersionError(StoreError):
    """The index was written by another format version."""


class ModelMismatchError(StoreError):
    """The index was built with another embedding model or dimension."""


class IndexLockedError(StoreError):
    """Another process holds the index's write lock."""


class IndexCorruptError(StoreError):
    """The index's files disagree with each other."""


class ClusterError(RagforgeError):
    """A Ray cluster could not be reached, or failed while it read, chunked or embedded."""


class RetrievalError(RagforgeError):
    """A search could not be carried out."""


class LLMError(RagforgeError):
    """A chat or embedding call to a language model failed."""

    retryable: bool = False


class LLMConnectionError(LLMError):
    """The model server is not running or cannot be reached."""

    retryable = True


class LLMTimeoutError(LLMError):
    """A request took longer than its timeout."""

    retryable = True


class LLMRateLimitError(LLMError):
    """The server answered 429 Too Many Requests."""

    retryable = True


class LLMServerError(LLMError):
    """The server answered with a 5xx status."""

    retryable = True


class LLMModelNotFoundError(LLMError):
    """The model is not available on the server (not pulled)."""


class LLMRequestError(LLMError):
    """The server rejected the request (4xx other than 404 and 429)."""


class LLMContextError(LLMRequestError):
    """The prompt (with room for the reply) does not fit the model's context window."""


class LLMResponseError(LLMError):
    """The server's reply could not be understood."""


class StructuredOutputError(LLMError):
    """Typed output was still invalid after all re-asks. ``last_reply`` holds the final text."""

    def __init__(self, message: str, *, last_reply: str = "") -> None:
        super().__init__(message)
        self.last_reply = last_reply


class ToolError(LLMError):
    """A tool call could not be carried out."""


class AgentStepLimitError(LLMError):
    """An agent reached its step limit without a final answer."""


class GraphError(RagforgeError):
    """Anything from the orchestration graph."""


class GraphBuildError(GraphError):
    """The graph is invalid; found by ``compile()`` before any node runs."""


class GraphRunError(GraphError):
    """A compiled graph failed while running."""


class GraphStepLimitError(GraphRunError):
    """The run reached its step limit."""


class NodeError(GraphRunError):
    """A node raised. ``node`` names it; ``state`` is the state before the failing step."""

    def __init__(self, message: str, *, node: str = "", state: object = None) -> None:
        super().__init__(message)
        self.node = node
        self.state = state


class NodeTimeoutError(NodeError):
    """A node exceeded its timeout."""


class CheckpointError(GraphRunError):
    """A checkpoint is missing or cannot be read."""


class QueryError(RagforgeError):
    """The query engine could not answer."""


class EvalError(RagforgeError):
    """An evaluation could not be run."""


class DatasetError(EvalError):
    """A gold set is missing or malformed."""
