"""attnr: the Python client of the attnr long-document retrieval service.

    from attnr import Retriever
    with Retriever("localhost:50051") as r:
        result = r.retrieve("How long is the offer valid?", [long_text])
        best = result.passages[0]
        assert best.range.slice(long_text) == best.text

`attnr.langchain` and `attnr.llama_index` hold the framework retrievers
(install the `langchain` / `llamaindex` extras).
"""
from attnr.client import (DOCUMENT_DIGEST_HEADER, AsyncRetriever, AttnrError,
                          Retriever)
from attnr.types import (CharSpan, Document, DocumentExplanation, Passage,
                         PassageScore, RetrieveResult, ScoreResult,
                         SentenceAttention, TextRange, Usage, ViewScore)

__all__ = [
    "AsyncRetriever", "AttnrError", "CharSpan", "DOCUMENT_DIGEST_HEADER",
    "Document", "DocumentExplanation", "Passage", "PassageScore",
    "Retriever", "RetrieveResult", "ScoreResult", "SentenceAttention",
    "TextRange", "Usage", "ViewScore",
]
__version__ = "1.0.0"
