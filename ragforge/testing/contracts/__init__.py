"""Contract suites: what any embedder, chat model, reader or checkpointer must do, as pytest test classes.

Subclass one, give it a fixture that builds your implementation, and pytest runs every check on it (the
style of haystack's ``testing/document_store.py`` mixins)::

    import pytest
    from ragforge.testing.contracts import EmbedderContract

    class TestMyEmbedder(EmbedderContract):
        @pytest.fixture
        def embedder(self):
            return MyEmbedder(dimension=64)

=====================  =========================  ===================================================
contract               required fixture           optional fixtures and switches
=====================  =========================  ===================================================
EmbedderContract       ``embedder``               ``failing_embedder``, ``prefixed_embedder``;
                                                  ``deterministic``, ``related_ranks_higher``
ChatModelContract      ``chat_model``             ``script``, ``failing_chat_model``;
                                                  ``reports_usage``, ``deterministic``,
                                                  ``knows_its_context``
ReaderContract         ``reader``, ``sample``     ``broken_sample``
CheckpointerContract   ``checkpointer``
=====================  =========================  ===================================================

ragforge runs every contract over every implementation it ships (``tests/contracts``). The suites need
pytest (``pip install 'ragforge[dev]'``); importing :mod:`ragforge.testing` alone does not load them.
"""

from __future__ import annotations

from ragforge.testing.contracts.chat_models import ChatModelContract
from ragforge.testing.contracts.checkpointers import CheckpointerContract
from ragforge.testing.contracts.embedders import EmbedderContract
from ragforge.testing.contracts.readers import READER_ERROR_REASONS, ReaderContract

__all__ = ["READER_ERROR_REASONS", "ChatModelContract", "CheckpointerContract", "EmbedderContract",
           "ReaderContract"]
