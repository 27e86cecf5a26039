"""Clients of the attnr.v1.Retriever gRPC service, synchronous and asyncio."""
from __future__ import annotations

import hashlib
from typing import List, Mapping, Optional, Sequence, Tuple

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from attnr.types import (CharSpan, Document, DocumentExplanation,
                         DocumentLike, Explain, PassageLike, Passage,
                         PassageScore, RetrieveResult, ScoreResult,
                         SentenceAttention, TextRange, Usage, ViewScore, Views)
from attnr.v1 import retriever_pb2, retriever_pb2_grpc

# Load balancers may route on it to the replica that has the document
# cached (docker/scale-out.sh): the SHA-256 hex of the first document.
DOCUMENT_DIGEST_HEADER = "x-attnr-document-digest"

_VIEWS = {
    "lexical": retriever_pb2.SCORING_VIEW_LEXICAL,
    "dense": retriever_pb2.SCORING_VIEW_DENSE,
    "entity": retriever_pb2.SCORING_VIEW_ENTITY,
    "llm": retriever_pb2.SCORING_VIEW_LLM,
}
_VIEW_NAMES = {number: name for name, number in _VIEWS.items()}


class AttnrError(Exception):
    """A call the server (or the channel) refused: the gRPC status name
    (`code`, e.g. "INVALID_ARGUMENT") and the server's message, which names
    the field, the limit or the byte offset."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(f"{code.name}: {message}")
        self.grpc_code = code
        self.code = code.name
        self.message = message


def _view_number(view: str) -> int:
    try:
        return _VIEWS[view.lower()]
    except KeyError:
        raise ValueError(f"views: {view!r} is not a scoring view (use "
                         f"{', '.join(_VIEWS)})") from None


_EXPLAIN_LEVELS = {
    "none": retriever_pb2.EXPLAIN_NONE,
    "scores": retriever_pb2.EXPLAIN_SCORES,
    "sentences": retriever_pb2.EXPLAIN_SENTENCES,
}


def _explain_level(explain: Explain) -> int:
    if isinstance(explain, bool):
        return _EXPLAIN_LEVELS["scores" if explain else "none"]
    if isinstance(explain, str) and explain.lower() in _EXPLAIN_LEVELS:
        return _EXPLAIN_LEVELS[explain.lower()]
    raise ValueError(f"explain: {explain!r} is not an explain level (use "
                     f"True, False, {', '.join(map(repr, _EXPLAIN_LEVELS))})")


def _score_explain(explain: Explain) -> bool:
    level = _explain_level(explain)
    if level == retriever_pb2.EXPLAIN_SENTENCES:
        raise ValueError('explain: "sentences" is for retrieve; score '
                         'explains per-view scores (True or "scores")')
    return level == retriever_pb2.EXPLAIN_SCORES


def _document(doc: DocumentLike) -> retriever_pb2.Document:
    if isinstance(doc, str):
        return retriever_pb2.Document(text=doc)
    if isinstance(doc, Document):
        return retriever_pb2.Document(id=doc.id, text=doc.text)
    raise TypeError("documents: each must be a str or attnr.Document")


def _digest_metadata(documents: Sequence[retriever_pb2.Document]):
    if not documents:
        return ()
    text = documents[0].text.encode("utf-8")
    return ((DOCUMENT_DIGEST_HEADER, hashlib.sha256(text).hexdigest()),)


def _range(r) -> TextRange:
    return TextRange(r.start_char, r.end_char, r.start_byte, r.end_byte)


def _views(breakdown) -> List[ViewScore]:
    return [ViewScore(_VIEW_NAMES.get(v.view, str(v.view)), v.score,
                      list(v.reasons)) for v in breakdown.view_scores]


def _usage(u) -> Usage:
    return Usage(u.query_tokens, u.document_tokens, u.passages, u.cache_hit,
                 u.unjudged_passages, u.timings.total_ms, u.oversized_passages)


def _retrieve_request(query: str, documents: Sequence[DocumentLike],
                      top_k: Optional[int], max_passage_tokens: Optional[int],
                      overlap_sentences: Optional[int], views: Views,
                      explain: Explain, entity_scope: Optional[bool],
                      grow_ranges: Optional[bool], return_text: bool,
                      view_weights: Optional[Mapping[str, float]] = None):
    if isinstance(documents, (str, Document)):
        documents = [documents]
    options = retriever_pb2.RetrieveOptions(
        top_k=top_k or 0, max_passage_tokens=max_passage_tokens or 0,
        overlap_sentences=overlap_sentences or 0, return_text=return_text,
        explain_level=_explain_level(explain),
        views=[_view_number(v) for v in views or []],
        view_weights=dict(view_weights or {}))
    if entity_scope is not None:
        options.entity_scope = entity_scope
    if grow_ranges is not None:
        options.grow_ranges = grow_ranges
    return retriever_pb2.RetrieveRequest(
        query=query, documents=[_document(d) for d in documents],
        options=options)


def _retrieve_result(response) -> RetrieveResult:
    passages = [
        Passage(rank=p.rank, score=p.score, document_index=p.document_index,
                document_id=p.document_id, range=_range(p.range), text=p.text,
                origin=retriever_pb2.Passage.Origin.Name(p.origin).lower(),
                entities=list(p.entities), sentences=p.sentences,
                views=_views(p.breakdown)) for p in response.passages]
    explanations = [
        DocumentExplanation(
            e.document_index,
            [SentenceAttention(_range(s.range), s.attention
                               if s.HasField("attention") else None)
             for s in e.sentences], e.note)
        for e in response.explanations]
    return RetrieveResult(passages, _usage(response.usage), response.model,
                          explanations)


def _score_request(query: str, passages: Sequence[PassageLike],
                   context: Optional[DocumentLike], views: Views,
                   explain: Explain,
                   view_weights: Optional[Mapping[str, float]] = None):
    items = []
    for i, p in enumerate(passages):
        if isinstance(p, str):
            items.append(retriever_pb2.ScorePassage(text=p))
        elif isinstance(p, CharSpan):
            items.append(retriever_pb2.ScorePassage(
                char_range=retriever_pb2.Span(start=p.start, end=p.end)))
        else:
            raise TypeError(f"passages[{i}]: must be a str or attnr.CharSpan")
    request = retriever_pb2.ScoreRequest(
        query=query, passages=items,
        options=retriever_pb2.ScoreOptions(
            views=[_view_number(v) for v in views or []],
            explain=_score_explain(explain),
            view_weights=dict(view_weights or {})))
    if context is not None:
        request.context.CopyFrom(_document(context))
    return request


def _score_result(response) -> ScoreResult:
    scores = [
        PassageScore(s.index, s.score,
                     _range(s.range) if s.HasField("range") and
                     s.range.end_byte > 0 else None, _views(s.breakdown))
        for s in response.scores]
    return ScoreResult(scores, _usage(response.usage), response.model)


def _prepare_request(documents, max_passage_tokens, overlap_sentences, views):
    if isinstance(documents, (str, Document)):
        documents = [documents]
    return retriever_pb2.PrepareRequest(
        documents=[_document(d) for d in documents],
        options=retriever_pb2.RetrieveOptions(
            max_passage_tokens=max_passage_tokens or 0,
            overlap_sentences=overlap_sentences or 0,
            views=[_view_number(v) for v in views or []]))


def _channel_options(max_message_bytes: int) -> List[Tuple[str, int]]:
    return [("grpc.max_send_message_length", max_message_bytes),
            ("grpc.max_receive_message_length", max_message_bytes)]


def _credentials(root_certificates, private_key, certificate_chain):
    """TLS credentials, or None for plaintext."""
    if root_certificates is None:
        if private_key is not None or certificate_chain is not None:
            raise ValueError("a client certificate needs root_certificates")
        return None
    return grpc.ssl_channel_credentials(
        root_certificates=root_certificates, private_key=private_key,
        certificate_chain=certificate_chain)


def _auth(token: Optional[str]):
    return (("authorization", f"Bearer {token}"),) if token else ()


class Retriever:
    """A synchronous client: `Retriever("localhost:50051").retrieve(query,
    documents, top_k=5)`. Every call takes a timeout in seconds (the call's
    deadline: the server stops work past it). Errors raise AttnrError.

    For servers with auth, `token` is sent as `authorization: Bearer`; for
    TLS, `root_certificates` (PEM bytes) and, when the server verifies
    clients, `private_key` and `certificate_chain`."""

    def __init__(self, target: str = "localhost:50051", *,
                 timeout: float = 60.0, token: Optional[str] = None,
                 root_certificates: Optional[bytes] = None,
                 private_key: Optional[bytes] = None,
                 certificate_chain: Optional[bytes] = None,
                 max_message_bytes: int = 64 << 20):
        self.target = target
        self.timeout = timeout
        self._auth = _auth(token)
        credentials = _credentials(root_certificates, private_key,
                                   certificate_chain)
        options = _channel_options(max_message_bytes)
        self._channel = (
            grpc.secure_channel(target, credentials, options=options)
            if credentials else grpc.insecure_channel(target, options=options))
        self._stub = retriever_pb2_grpc.RetrieverStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)

    def __enter__(self) -> "Retriever":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def _call(self, method, request, timeout, metadata=()):
        try:
            return method(request, timeout=timeout or self.timeout,
                          metadata=tuple(metadata) + self._auth)
        except grpc.RpcError as e:
            raise AttnrError(e.code(), e.details() or "") from None

    def retrieve(self, query: str, documents, *, top_k: Optional[int] = None,
                 max_passage_tokens: Optional[int] = None,
                 overlap_sentences: Optional[int] = None, views: Views = None,
                 explain: Explain = False,
                 entity_scope: Optional[bool] = None,
                 grow_ranges: Optional[bool] = None, return_text: bool = True,
                 view_weights: Optional[Mapping[str, float]] = None,
                 timeout: Optional[float] = None) -> RetrieveResult:
        """Ranks the passages of `documents` (a str, an attnr.Document or a
        list of them) against `query`. None means the server's default.
        `explain`: True or "scores" fills each passage's per-view `views`;
        "sentences" also fills `explanations` (every sentence of every
        document with the attention the LLM view's question paid to it).
        A passage's `score` is the calibrated probability that it answers
        the question; `view_weights` ({"dense": 0.9, "lexical": 0.1})
        replace the server's fusion weights for the views named, and the
        scores then only order the passages (not calibrated)."""
        request = _retrieve_request(query, documents, top_k,
                                    max_passage_tokens, overlap_sentences,
                                    views, explain, entity_scope, grow_ranges,
                                    return_text, view_weights)
        return _retrieve_result(self._call(
            self._stub.Retrieve, request, timeout,
            _digest_metadata(request.documents)))

    def score(self, query: str, passages: Sequence[PassageLike], *,
              context: Optional[DocumentLike] = None, views: Views = None,
              explain: Explain = False,
              view_weights: Optional[Mapping[str, float]] = None,
              timeout: Optional[float] = None) -> ScoreResult:
        """Scores `passages` (texts, or CharSpans of `context`) in order:
        with the default views each score is the calibrated probability
        that the passage answers (see retrieve for `view_weights`)."""
        request = _score_request(query, passages, context, views, explain,
                                 view_weights)
        metadata = _digest_metadata([request.context]) if context else ()
        return _score_result(self._call(self._stub.Score, request, timeout,
                                        metadata))

    def prepare(self, documents, *, max_passage_tokens: Optional[int] = None,
                overlap_sentences: Optional[int] = None, views: Views = None,
                timeout: Optional[float] = None) -> List[str]:
        """Warms `documents` for later questions; the views warmed."""
        request = _prepare_request(documents, max_passage_tokens,
                                   overlap_sentences, views)
        response = self._call(self._stub.Prepare, request, timeout,
                              _digest_metadata(request.documents))
        return [_VIEW_NAMES.get(v, str(v)) for v in response.views]

    def model_info(self, *, timeout: Optional[float] = None):
        """The loaded models, views and limits (attnr.v1.ModelInfo)."""
        return self._call(self._stub.GetModelInfo,
                          retriever_pb2.GetModelInfoRequest(), timeout)

    def health(self, *, timeout: Optional[float] = None) -> str:
        """"SERVING" once the model is loaded, else "NOT_SERVING"."""
        response = self._call(self._health.Check,
                              health_pb2.HealthCheckRequest(service=""),
                              timeout)
        return health_pb2.HealthCheckResponse.ServingStatus.Name(
            response.status)


class AsyncRetriever:
    """The asyncio client (grpc.aio), with the same methods as Retriever as
    coroutines: `await AsyncRetriever(target).retrieve(query, documents)`."""

    def __init__(self, target: str = "localhost:50051", *,
                 timeout: float = 60.0, token: Optional[str] = None,
                 root_certificates: Optional[bytes] = None,
                 private_key: Optional[bytes] = None,
                 certificate_chain: Optional[bytes] = None,
                 max_message_bytes: int = 64 << 20):
        self.target = target
        self.timeout = timeout
        self._auth = _auth(token)
        credentials = _credentials(root_certificates, private_key,
                                   certificate_chain)
        options = _channel_options(max_message_bytes)
        self._channel = (
            grpc.aio.secure_channel(target, credentials, options=options)
            if credentials else
            grpc.aio.insecure_channel(target, options=options))
        self._stub = retriever_pb2_grpc.RetrieverStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)

    async def __aenter__(self) -> "AsyncRetriever":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close()

    async def _call(self, method, request, timeout, metadata=()):
        try:
            return await method(request, timeout=timeout or self.timeout,
                                metadata=tuple(metadata) + self._auth)
        except grpc.RpcError as e:
            raise AttnrError(e.code(), e.details() or "") from None

    async def retrieve(self, query: str, documents, *,
                       top_k: Optional[int] = None,
                       max_passage_tokens: Optional[int] = None,
                       overlap_sentences: Optional[int] = None,
                       views: Views = None, explain: Explain = False,
                       entity_scope: Optional[bool] = None,
                       grow_ranges: Optional[bool] = None,
                       return_text: bool = True,
                       view_weights: Optional[Mapping[str, float]] = None,
                       timeout: Optional[float] = None) -> RetrieveResult:
        request = _retrieve_request(query, documents, top_k,
                                    max_passage_tokens, overlap_sentences,
                                    views, explain, entity_scope, grow_ranges,
                                    return_text, view_weights)
        return _retrieve_result(await self._call(
            self._stub.Retrieve, request, timeout,
            _digest_metadata(request.documents)))

    async def score(self, query: str, passages: Sequence[PassageLike], *,
                    context: Optional[DocumentLike] = None,
                    views: Views = None, explain: Explain = False,
                    view_weights: Optional[Mapping[str, float]] = None,
                    timeout: Optional[float] = None) -> ScoreResult:
        request = _score_request(query, passages, context, views, explain,
                                 view_weights)
        metadata = _digest_metadata([request.context]) if context else ()
        return _score_result(await self._call(self._stub.Score, request,
                                              timeout, metadata))

    async def prepare(self, documents, *,
                      max_passage_tokens: Optional[int] = None,
                      overlap_sentences: Optional[int] = None,
                      views: Views = None,
                      timeout: Optional[float] = None) -> List[str]:
        request = _prepare_request(documents, max_passage_tokens,
                                   overlap_sentences, views)
        response = await self._call(self._stub.Prepare, request, timeout,
                                    _digest_metadata(request.documents))
        return [_VIEW_NAMES.get(v, str(v)) for v in response.views]

    async def model_info(self, *, timeout: Optional[float] = None):
        return await self._call(self._stub.GetModelInfo,
                                retriever_pb2.GetModelInfoRequest(), timeout)

    async def health(self, *, timeout: Optional[float] = None) -> str:
        response = await self._call(self._health.Check,
                                    health_pb2.HealthCheckRequest(service=""),
                                    timeout)
        return health_pb2.HealthCheckResponse.ServingStatus.Name(
            response.status)
