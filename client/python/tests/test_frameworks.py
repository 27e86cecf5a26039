"""The LangChain and LlamaIndex integrations against the real server."""
import pytest
from langchain_core.documents import Document as LCDocument
from llama_index.core import Document as LlamaDocument
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from attnr.langchain import AttnrRetriever as LangChainRetriever
from attnr.llama_index import AttnrReranker
from attnr.llama_index import AttnrRetriever as LlamaIndexRetriever
from conftest import QUESTION, has_answer


def test_langchain_retriever_returns_documents_with_ranges(server, licenses):
    retriever = LangChainRetriever(target=server.target, documents=[licenses],
                                   top_k=3)
    docs = retriever.invoke(QUESTION)
    assert len(docs) == 3
    assert all(isinstance(d, LCDocument) for d in docs)
    assert any(has_answer(d.page_content) for d in docs)
    for rank, d in enumerate(docs, start=1):
        m = d.metadata
        assert m["rank"] == rank
        assert licenses[m["start_char"]:m["end_char"]] == d.page_content
        assert m["document_index"] == 0
        assert m["end_byte"] - m["start_byte"] == len(
            d.page_content.encode("utf-8"))


@pytest.mark.asyncio
async def test_langchain_retriever_async_and_batch(server, licenses):
    retriever = LangChainRetriever(target=server.target, documents=[licenses],
                                   top_k=2, views=["lexical", "dense"])
    docs = await retriever.ainvoke(QUESTION)
    assert len(docs) == 2
    assert any(has_answer(d.page_content) for d in docs)
    batch = retriever.batch([QUESTION, "What is a User Product?"])
    assert [len(b) for b in batch] == [2, 2]
    assert any("User Product" in d.page_content for d in batch[1])


def test_llama_index_retriever_returns_nodes_with_ranges(server, licenses):
    retriever = LlamaIndexRetriever(
        [LlamaDocument(text=licenses, doc_id="licences")],
        target=server.target, top_k=3)
    nodes = retriever.retrieve(QUESTION)
    assert len(nodes) == 3
    assert any(has_answer(n.node.get_content()) for n in nodes)
    for n in nodes:
        node = n.node
        assert licenses[node.start_char_idx:node.end_char_idx] == \
            node.get_content()
        assert node.node_id.startswith("licences:")
        assert n.score == node.metadata["score"]
    assert nodes[0].score >= nodes[-1].score


@pytest.mark.asyncio
async def test_llama_index_retriever_async(server, licenses):
    retriever = LlamaIndexRetriever([licenses], target=server.target,
                                    top_k=2)
    nodes = await retriever.aretrieve(QUESTION)
    assert len(nodes) == 2
    assert any(has_answer(n.node.get_content()) for n in nodes)
    assert nodes[0].node.node_id.startswith("document-0:")


def test_llama_index_reranker_puts_the_answer_first(server):
    texts = ["The museum opens at nine on weekdays.",
             "Each chapter ends with a short summary.",
             "The offer must remain valid for at least three years, and for "
             "as long as you offer spare parts or customer support."]
    nodes = [NodeWithScore(node=TextNode(text=t), score=0.0) for t in texts]
    reranker = AttnrReranker(target=server.target, top_n=2)
    ranked = reranker.postprocess_nodes(nodes,
                                        query_bundle=QueryBundle(QUESTION))
    assert len(ranked) == 2
    assert ranked[0].node.get_content() == texts[2]
    assert ranked[0].score > ranked[1].score
