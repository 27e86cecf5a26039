"""Typed values the client returns: passages with their exact ranges."""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional, Sequence, Union


@dataclasses.dataclass(frozen=True)
class Document:
    """A document to search. `id` is echoed back in passages."""

    text: str
    id: str = ""


DocumentLike = Union[str, Document]


@dataclasses.dataclass(frozen=True)
class TextRange:
    """A half-open range [start, end) in a document as sent.

    `*_char` count Unicode code points (what Python's str indexes);
    `*_byte` are offsets into the document's UTF-8 bytes.
    """

    start_char: int
    end_char: int
    start_byte: int
    end_byte: int

    def slice(self, text: str) -> str:
        """The range's text in `text` (the document it was returned for)."""
        return text[self.start_char:self.end_char]

    def slice_bytes(self, data: bytes) -> bytes:
        """The range's bytes in the document's UTF-8 encoding."""
        return data[self.start_byte:self.end_byte]


@dataclasses.dataclass(frozen=True)
class ViewScore:
    """One scoring view's raw judgement of a passage (explain only)."""

    view: str  # "lexical", "dense", "entity", "llm"
    score: float
    reasons: List[str]


@dataclasses.dataclass(frozen=True)
class Passage:
    """A retrieved passage: where it is, how it scored and why."""

    rank: int
    score: float
    document_index: int
    document_id: str
    range: TextRange
    text: str
    # "query_match", or "entity_scope" for a passage reached through
    # entities shared with a query match.
    origin: str
    entities: List[str]
    sentences: int
    # Per-view scores when the call asked to explain; else empty.
    views: List[ViewScore]


@dataclasses.dataclass(frozen=True)
class Usage:
    query_tokens: int
    document_tokens: int
    passages: int
    cache_hit: bool
    unjudged_passages: int
    total_ms: float
    # Of unjudged_passages, those longer than a neural view's window in its
    # own tokens: that view never judges them.
    oversized_passages: int = 0


@dataclasses.dataclass(frozen=True)
class SentenceAttention:
    """One sentence of a document and the share of the question's attention
    the LLM view's read-out paid to it (comparable across one result's
    sentences); None where the LLM did not read the sentence."""

    range: TextRange
    attention: Optional[float]


@dataclasses.dataclass(frozen=True)
class DocumentExplanation:
    """Every sentence of one document, in order (explain="sentences")."""

    document_index: int
    sentences: List[SentenceAttention]
    # Why sentences have no attention; empty when every one has it.
    note: str


@dataclasses.dataclass(frozen=True)
class RetrieveResult:
    passages: List[Passage]
    usage: Usage
    model: str
    # One per document when the call asked explain="sentences"; else empty.
    explanations: List[DocumentExplanation] = dataclasses.field(
        default_factory=list)


@dataclasses.dataclass(frozen=True)
class PassageScore:
    """The score of one passage given to `score`, in request order."""

    index: int
    score: float
    # Its range in the context document (None for text passages).
    range: Optional[TextRange]
    views: List[ViewScore]


@dataclasses.dataclass(frozen=True)
class ScoreResult:
    scores: List[PassageScore]
    usage: Usage
    model: str


@dataclasses.dataclass(frozen=True)
class CharSpan:
    """A passage of the context document given by code-point offsets."""

    start: int
    end: int


PassageLike = Union[str, CharSpan]
Views = Optional[Sequence[str]]
# False or "none"; True or "scores" (per-view scores); "sentences" (scores,
# and every sentence with the LLM's attention).
Explain = Union[bool, str]
Metadata = Dict[str, object]


def passage_metadata(p: Passage) -> Dict[str, Any]:
    """The metadata the framework integrations attach to a passage: its
    exact range, rank, score, origin, entities and document."""
    return {
        "rank": p.rank,
        "score": p.score,
        "document_index": p.document_index,
        "document_id": p.document_id,
        "start_char": p.range.start_char,
        "end_char": p.range.end_char,
        "start_byte": p.range.start_byte,
        "end_byte": p.range.end_byte,
        "origin": p.origin,
        "entities": list(p.entities),
        "sentences": p.sentences,
    }
