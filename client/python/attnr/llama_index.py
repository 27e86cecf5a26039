"""LlamaIndex integrations served by attnr: a retriever over long
documents, and a node post-processor that reranks retrieved nodes.

    from attnr.llama_index import AttnrRetriever, AttnrReranker
    retriever = AttnrRetriever(documents=[text], target="localhost:50051")
    nodes = retriever.retrieve("How long must the offer stay valid?")
    nodes[0].node.start_char_idx  # where the passage is in `text`

The retriever's nodes are TextNodes whose start_char_idx / end_char_idx
are the passage's exact range in its document (code points, as Python
indexes str); metadata adds the byte range, rank, origin and entities.
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence

from llama_index.core.callbacks import CallbackManager
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from pydantic import Field, PrivateAttr

from attnr.client import AsyncRetriever, Retriever
from attnr.types import Document, RetrieveResult, passage_metadata


def _as_document(doc: Any) -> Any:
    """str and attnr.Document pass; a LlamaIndex Document becomes one."""
    if isinstance(doc, (str, Document)):
        return doc
    text = getattr(doc, "text", None)
    if isinstance(text, str):
        return Document(text=text, id=str(getattr(doc, "doc_id", "") or ""))
    raise TypeError("documents: each must be a str, attnr.Document or a "
                    "LlamaIndex Document")


class AttnrRetriever(BaseRetriever):
    """Retrieves passages of `documents` for a query through attnr."""

    def __init__(self, documents: Sequence[Any], *,
                 target: str = "localhost:50051",
                 top_k: Optional[int] = None,
                 views: Optional[List[str]] = None,
                 max_passage_tokens: Optional[int] = None,
                 entity_scope: Optional[bool] = None,
                 grow_ranges: Optional[bool] = None, timeout: float = 60.0,
                 token: Optional[str] = None,
                 root_certificates: Optional[bytes] = None,
                 callback_manager: Optional[CallbackManager] = None,
                 **kwargs: Any) -> None:
        self._documents = [_as_document(d) for d in documents]
        self._target = target
        self._timeout = timeout
        self._connection = dict(timeout=timeout, token=token,
                                root_certificates=root_certificates)
        self._options = dict(top_k=top_k, views=views,
                             max_passage_tokens=max_passage_tokens,
                             entity_scope=entity_scope,
                             grow_ranges=grow_ranges, timeout=timeout)
        self._client: Optional[Retriever] = None
        self._aclient: Optional[AsyncRetriever] = None
        super().__init__(callback_manager=callback_manager, **kwargs)

    def _nodes(self, result: RetrieveResult) -> List[NodeWithScore]:
        nodes = []
        for p in result.passages:
            doc = self._documents[p.document_index]
            source = (doc.id if isinstance(doc, Document) and doc.id else
                      f"document-{p.document_index}")
            node = TextNode(
                id_=f"{source}:{p.range.start_char}-{p.range.end_char}",
                text=p.text, start_char_idx=p.range.start_char,
                end_char_idx=p.range.end_char, metadata=passage_metadata(p))
            nodes.append(NodeWithScore(node=node, score=p.score))
        return nodes

    def _retrieve(self, query_bundle: QueryBundle) -> List[NodeWithScore]:
        if self._client is None:
            self._client = Retriever(self._target, **self._connection)
        return self._nodes(self._client.retrieve(
            query_bundle.query_str, self._documents, **self._options))

    async def _aretrieve(self,
                         query_bundle: QueryBundle) -> List[NodeWithScore]:
        if self._aclient is None:
            self._aclient = AsyncRetriever(self._target, **self._connection)
        return self._nodes(await self._aclient.retrieve(
            query_bundle.query_str, self._documents, **self._options))


class AttnrReranker(BaseNodePostprocessor):
    """Reranks nodes (from any retriever) with attnr's Score: each node's
    text scored against the query by the server's views, best first."""

    target: str = Field(default="localhost:50051")
    top_n: Optional[int] = Field(default=None,
                                 description="Keep the best top_n nodes.")
    views: Optional[List[str]] = Field(default=None)
    timeout: float = Field(default=60.0)
    token: Optional[str] = Field(default=None)
    root_certificates: Optional[bytes] = Field(default=None)

    _client: Optional[Retriever] = PrivateAttr(default=None)

    @classmethod
    def class_name(cls) -> str:
        return "AttnrReranker"

    def _postprocess_nodes(
            self, nodes: List[NodeWithScore],
            query_bundle: Optional[QueryBundle] = None) -> List[NodeWithScore]:
        if query_bundle is None:
            raise ValueError("AttnrReranker needs the query (query_bundle)")
        if not nodes:
            return []
        if self._client is None:
            self._client = Retriever(self.target, timeout=self.timeout,
                                     token=self.token,
                                     root_certificates=self.root_certificates)
        result = self._client.score(
            query_bundle.query_str,
            [n.node.get_content() for n in nodes], views=self.views,
            timeout=self.timeout)
        ranked = sorted(result.scores, key=lambda s: -s.score)
        if self.top_n is not None:
            ranked = ranked[:self.top_n]
        return [NodeWithScore(node=nodes[s.index].node, score=s.score)
                for s in ranked]
