"""The HTTP/JSON gateway from outside: curl against /v1/rerank, and the
OpenAPI document validated and checked against real answers."""
import json
import subprocess
import urllib.error
import urllib.request

import jsonschema
from openapi_spec_validator import validate

from conftest import QUESTION, has_answer


def curl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["curl", "-sS", "--max-time", "60", *args],
                          capture_output=True, text=True, check=True)


def get(url: str):
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, json.loads(response.read())


def post(url: str, body: dict):
    request = urllib.request.Request(
        url, data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def schema_validator(spec: dict, name: str):
    return jsonschema.Draft202012Validator(
        {"$ref": f"#/components/schemas/{name}",
         "components": spec["components"]})


def test_curl_rerank(server):
    body = json.dumps({
        "model": "rerank-english-v3.0",
        "query": QUESTION,
        "documents": [
            "The museum opens at nine on weekdays.",
            {"text": "The offer must be valid for at least three years."},
            "Our football team trains every Tuesday evening.",
        ],
        "top_n": 2,
        "return_documents": True,
    })
    out = curl("-X", "POST", f"{server.http}/v1/rerank",
               "-H", "Content-Type: application/json", "-d", body,
               "-w", "\n%{http_code}")
    text, status = out.stdout.rsplit("\n", 1)
    assert status == "200"
    answer = json.loads(text)
    assert [r["index"] for r in answer["results"]][0] == 1
    assert len(answer["results"]) == 2
    assert answer["results"][0]["document"]["text"] == \
        "The offer must be valid for at least three years."
    assert answer["results"][0]["relevance_score"] > \
        answer["results"][1]["relevance_score"]
    assert answer["usage"]["total_tokens"] > 0


def test_curl_bad_request_names_the_field(server):
    out = curl("-X", "POST", f"{server.http}/v1/rerank",
               "-H", "Content-Type: application/json", "-d",
               '{"query": "q", "documents": ["a", 7]}', "-w", "\n%{http_code}")
    text, status = out.stdout.rsplit("\n", 1)
    assert status == "400"
    assert json.loads(text)["error"] == {
        "code": "INVALID_ARGUMENT", "status": 400,
        "message": 'documents[1]: must be a string or an object with "text"'}
    # curl's -d alone sends a form (no CORS preflight in a browser): 415.
    out = curl("-X", "POST", f"{server.http}/v1/rerank", "-d",
               '{"query": "q", "documents": ["a"]}', "-w", "\n%{http_code}")
    text, status = out.stdout.rsplit("\n", 1)
    assert status == "415"
    assert json.loads(text)["error"]["message"] == \
        "Content-Type: must be application/json"


def test_openapi_document_is_valid_and_describes_the_answers(server,
                                                              licenses):
    status, spec = get(f"{server.http}/openapi.json")
    assert status == 200
    validate(spec)  # Raises on an invalid OpenAPI 3.1 document.
    assert {"/v1/rerank", "/v1/retrieve", "/v1/score", "/v1/prepare",
            "/v1/model_info", "/health"} <= set(spec["paths"])

    # Real answers match the schemas the document gives them.
    retrieve_request = {"query": QUESTION, "documents": [licenses],
                        "options": {"top_k": 2, "explain": True}}
    schema_validator(spec, "RetrieveRequest").validate(retrieve_request)
    status, answer = post(f"{server.http}/v1/retrieve", retrieve_request)
    assert status == 200
    schema_validator(spec, "RetrieveResponse").validate(answer)
    assert any(has_answer(p["text"]) for p in answer["passages"])
    for p in answer["passages"]:
        r = p["range"]
        assert licenses[r["start_char"]:r["end_char"]] == p["text"]

    rerank = {"query": QUESTION, "documents": ["a", "three years"]}
    schema_validator(spec, "RerankRequest").validate(rerank)
    status, answer = post(f"{server.http}/v1/rerank", rerank)
    assert status == 200
    schema_validator(spec, "RerankResponse").validate(answer)

    status, answer = post(f"{server.http}/v1/score", {
        "query": QUESTION, "context": {"text": licenses},
        "passages": [{"char_range": {"start": 0, "end": 100}}, "text"]})
    assert status == 200
    schema_validator(spec, "ScoreResponse").validate(answer)

    status, answer = get(f"{server.http}/v1/model_info")
    assert status == 200
    schema_validator(spec, "ModelInfo").validate(answer)
    status, answer = get(f"{server.http}/health")
    schema_validator(spec, "Health").validate(answer)

    status, answer = post(f"{server.http}/v1/retrieve",
                          {"query": "", "documents": ["x"]})
    assert status == 400
    schema_validator(spec, "Error").validate(answer)
