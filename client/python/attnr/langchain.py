"""A LangChain retriever over long documents, served by attnr.

    from attnr.langchain import AttnrRetriever
    retriever = AttnrRetriever(target="localhost:50051", documents=[text])
    docs = retriever.invoke("How long must the offer stay valid?")
    docs[0].metadata["start_char"]  # where the passage is in `text`

attnr splits, ranks and locates: nothing is split on the caller's side.
Each returned Document's page_content is the passage, and its metadata has
the passage's exact range (code points and UTF-8 bytes), rank, score,
origin, entities and its document's index and id.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Union

from langchain_core.callbacks import (AsyncCallbackManagerForRetrieverRun,
                                      CallbackManagerForRetrieverRun)
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, PrivateAttr

from attnr.client import AsyncRetriever, Retriever
from attnr.types import Document, RetrieveResult, passage_metadata


class AttnrRetriever(BaseRetriever):
    """Retrieves passages of `documents` for a query through attnr."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    documents: List[Union[str, Document]]
    """The long documents to search (str or attnr.Document)."""
    target: str = "localhost:50051"
    top_k: Optional[int] = None
    views: Optional[List[str]] = None
    max_passage_tokens: Optional[int] = None
    entity_scope: Optional[bool] = None
    grow_ranges: Optional[bool] = None
    timeout: float = 60.0
    token: Optional[str] = None
    """Bearer token for servers with auth."""
    root_certificates: Optional[bytes] = None
    """PEM roots for a TLS server."""

    _client: Optional[Retriever] = PrivateAttr(default=None)
    _aclient: Optional[AsyncRetriever] = PrivateAttr(default=None)

    def _options(self) -> Dict[str, Any]:
        return dict(top_k=self.top_k, views=self.views,
                    max_passage_tokens=self.max_passage_tokens,
                    entity_scope=self.entity_scope,
                    grow_ranges=self.grow_ranges, timeout=self.timeout)

    def _documents(self, result: RetrieveResult) -> List[LCDocument]:
        return [LCDocument(page_content=p.text, metadata=passage_metadata(p))
                for p in result.passages]

    def _get_relevant_documents(
            self, query: str, *,
            run_manager: CallbackManagerForRetrieverRun) -> List[LCDocument]:
        if self._client is None:
            self._client = Retriever(self.target, timeout=self.timeout,
                                     token=self.token,
                                     root_certificates=self.root_certificates)
        return self._documents(
            self._client.retrieve(query, self.documents, **self._options()))

    async def _aget_relevant_documents(
            self, query: str, *,
            run_manager: AsyncCallbackManagerForRetrieverRun
    ) -> List[LCDocument]:
        if self._aclient is None:
            self._aclient = AsyncRetriever(
                self.target, timeout=self.timeout, token=self.token,
                root_certificates=self.root_certificates)
        return self._documents(await self._aclient.retrieve(
            query, self.documents, **self._options()))
