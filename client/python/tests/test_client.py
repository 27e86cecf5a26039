"""The typed client, sync and asyncio, against the real server."""
import asyncio

import pytest

import attnr
from conftest import QUESTION, has_answer


@pytest.fixture(scope="module")
def document(licenses) -> str:
    # Multi-byte text first: code-point and byte offsets differ after it.
    return "# Licences: caf\u00e9 \u2615 \u2014 \u201cquoted\u201d\n\n" + licenses


def test_retrieve_returns_exact_ranges(server, document):
    with attnr.Retriever(server.target) as client:
        result = client.retrieve(QUESTION, [document], top_k=3)
    assert len(result.passages) == 3
    assert [p.rank for p in result.passages] == [1, 2, 3]
    assert any(has_answer(p.text) for p in result.passages)
    data = document.encode("utf-8")
    for p in result.passages:
        assert p.range.slice(document) == p.text
        assert p.range.slice_bytes(data).decode("utf-8") == p.text
        assert p.range.start_byte > p.range.start_char  # Multi-byte prefix.
        assert p.document_index == 0
        assert p.origin in ("query_match", "entity_scope")
    assert result.passages[0].score >= result.passages[-1].score
    assert result.usage.document_tokens > 20000
    assert "/" in result.model


def test_retrieve_options_and_explain(server, document):
    client = attnr.Retriever(server.target)
    result = client.retrieve(
        QUESTION, [attnr.Document(document, id="licences"), "A short note."],
        top_k=2, views=["lexical"], explain=True, entity_scope=False,
        return_text=False)
    client.close()
    assert len(result.passages) == 2
    best = result.passages[0]
    assert best.document_id == "licences"
    assert best.text == ""  # return_text=False.
    assert [v.view for v in best.views] == ["lexical"]
    assert best.views[0].score > 0
    assert "offer" in best.views[0].reasons


def test_retrieve_explains_sentences(server, document):
    with attnr.Retriever(server.target) as client:
        result = client.retrieve(QUESTION, [document], top_k=3,
                                 views=["lexical", "llm"],
                                 explain="sentences")
        lean = client.retrieve(QUESTION, [document], top_k=1,
                               views=["lexical"], explain=True)
        with pytest.raises(ValueError, match="explain: 'loud'"):
            client.retrieve(QUESTION, [document], explain="loud")
        with pytest.raises(ValueError, match="is for retrieve"):
            client.score(QUESTION, ["a"], explain="sentences")
    assert lean.explanations == []
    assert lean.passages[0].views  # explain=True: the scores alone.
    assert [e.document_index for e in result.explanations] == [0]
    explanation = result.explanations[0]
    assert len(explanation.sentences) > 100
    data = document.encode("utf-8")
    previous_end = 0
    for s in explanation.sentences:
        # In order, each a real slice of the document, in both offsets.
        assert s.range.start_char >= previous_end
        assert s.range.slice(document).strip()
        assert s.range.slice_bytes(data).decode("utf-8") == \
            s.range.slice(document)
        previous_end = s.range.end_char
    read = [s for s in explanation.sentences if s.attention is not None]
    # The LLM read its candidates within its budget, not the whole document.
    assert 0 < len(read) < len(explanation.sentences)
    assert all(0 <= s.attention <= 1 for s in read)
    assert "the LLM read" in explanation.note
    # The top passage's sentences were read, and they carry attention.
    top = result.passages[0].range
    inside = [s for s in explanation.sentences
              if top.start_char <= s.range.start_char and
              s.range.end_char <= top.end_char]
    assert inside and all(s.attention is not None for s in inside)
    assert result.passages[0].views  # "sentences" includes the scores.


def test_score_texts_and_spans(server, document):
    start = document.index("written offer")
    with attnr.Retriever(server.target) as client:
        texts = client.score(QUESTION, [
            "The museum opens at nine.",
            "The offer must be valid for at least three years."])
        spans = client.score(
            QUESTION,
            [attnr.CharSpan(0, 40), attnr.CharSpan(start, start + 200)],
            context=document)
    assert [s.index for s in texts.scores] == [0, 1]
    assert texts.scores[1].score > texts.scores[0].score
    assert texts.scores[0].range is None
    assert spans.scores[1].range.start_char == start
    assert spans.scores[1].range.slice(document) == document[start:start + 200]
    assert spans.scores[1].score > spans.scores[0].score


def test_prepare_info_and_health(server, document):
    with attnr.Retriever(server.target) as client:
        assert client.health() == "SERVING"
        info = client.model_info()
        assert info.limits.max_top_k > 0
        assert len(info.default_views) >= 2
        warmed = client.prepare([document[:20000]], views=["dense"])
        assert warmed == ["dense"]


def test_errors_name_the_field(server, document):
    with attnr.Retriever(server.target) as client:
        with pytest.raises(attnr.AttnrError) as empty:
            client.retrieve("   ", [document])
        with pytest.raises(attnr.AttnrError) as top_k:
            client.retrieve(QUESTION, [document], top_k=10**9)
        with pytest.raises(ValueError, match="'bm25' is not a scoring view"):
            client.retrieve(QUESTION, [document], views=["bm25"])
    assert empty.value.code == "INVALID_ARGUMENT"
    assert empty.value.message == "query: is empty"
    assert top_k.value.code == "INVALID_ARGUMENT"
    assert "options.top_k: 1000000000 is over the maximum" in top_k.value.message


def test_unreachable_server_is_unavailable():
    with attnr.Retriever("127.0.0.1:1", timeout=2) as client:
        with pytest.raises(attnr.AttnrError) as error:
            client.health()
    assert error.value.code in ("UNAVAILABLE", "DEADLINE_EXCEEDED")


@pytest.mark.asyncio
async def test_async_client_runs_calls_concurrently(server, document):
    async with attnr.AsyncRetriever(server.target) as client:
        assert await client.health() == "SERVING"
        questions = [QUESTION, "What is the Program?",
                     "May I charge a fee for conveying copies?"]
        results = await asyncio.gather(
            *(client.retrieve(q, document, top_k=2) for q in questions))
        scored = await client.score(QUESTION, ["three years", "nothing"])
        with pytest.raises(attnr.AttnrError) as error:
            await client.retrieve("", document)
    assert [len(r.passages) for r in results] == [2, 2, 2]
    assert any(has_answer(p.text) for p in results[0].passages)
    for r in results:
        for p in r.passages:
            assert p.range.slice(document) == p.text
    assert len(scored.scores) == 2
    assert error.value.code == "INVALID_ARGUMENT"


def test_view_weights_are_sent(server, document):
    """A request's own weights reach the server: BM25 weighed 0 ranks as
    the dense view alone; a name the server does not know is refused."""
    with attnr.Retriever(server.target) as client:
        dense = client.retrieve(QUESTION, document, top_k=3, views=["dense"])
        weighted = client.retrieve(QUESTION, document, top_k=3,
                                   view_weights={"lexical": 0, "dense": 1})
        with pytest.raises(attnr.AttnrError) as error:
            client.retrieve(QUESTION, document, view_weights={"bm42": 1})
    assert [p.range for p in weighted.passages] == \
        [p.range for p in dense.passages]
    assert error.value.code == "INVALID_ARGUMENT"
    assert "options.view_weights" in str(error.value)


def test_raw_grpc_stubs_take_python_str(server, document):
    # The stubs grpcio-tools generates from proto/ (what any gRPC user has):
    # text fields are `string`, so Python str goes in as it is.
    import grpc
    from attnr.v1 import retriever_pb2, retriever_pb2_grpc

    with grpc.insecure_channel(server.target) as channel:
        stub = retriever_pb2_grpc.RetrieverStub(channel)
        response = stub.Retrieve(retriever_pb2.RetrieveRequest(
            query=QUESTION,
            documents=[retriever_pb2.Document(id="licences", text=document)],
            options=retriever_pb2.RetrieveOptions(top_k=3, return_text=True)))
        scored = stub.Score(retriever_pb2.ScoreRequest(
            query=QUESTION,
            passages=[retriever_pb2.ScorePassage(text="caf\u00e9 \u2615"),
                      retriever_pb2.ScorePassage(
                          char_range=retriever_pb2.Span(start=0, end=40))],
            context=retriever_pb2.Document(text=document)))
    assert len(response.passages) == 3
    assert response.passages[0].document_id == "licences"
    for p in response.passages:
        # Code-point offsets index the str that was sent.
        assert document[p.range.start_char:p.range.end_char] == p.text
    assert any(has_answer(p.text) for p in response.passages)
    assert len(scored.scores) == 2
    assert all(0 <= s.score <= 1 for s in scored.scores)
