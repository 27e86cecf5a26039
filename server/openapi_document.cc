#include "server/openapi_document.h"

namespace attnr::server {

absl::string_view OpenApiDocument() {
  static constexpr char kDocument[] = R"json({
  "openapi": "3.1.0",
  "info": {
    "title": "attnr",
    "version": "1.0.0",
    "description": "Long-document retrieval: ranked passages with their exact ranges (Unicode code points and UTF-8 bytes), scores and reasons. The same service as the attnr.v1.Retriever gRPC API (proto/attnr/v1/retriever.proto); limits are in GET /v1/model_info. Errors carry the gRPC status name and the same message as through gRPC."
  },
  "paths": {
    "/v1/rerank": {
      "post": {
        "operationId": "rerank",
        "summary": "Rerank documents against a query (Cohere / Jina / TEI-compatible).",
        "description": "Each document is scored whole (the Score method with text passages). relevance_score is the fused score of the server's default views: higher is more relevant, comparable within one call.",
        "parameters": [{"$ref": "#/components/parameters/Timeout"}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RerankRequest"}}}},
        "responses": {
          "200": {"description": "Results, best first.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RerankResponse"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/v1/retrieve": {
      "post": {
        "operationId": "retrieve",
        "summary": "Rank the passages of long documents against a query (Retrieve).",
        "parameters": [{"$ref": "#/components/parameters/Timeout"}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RetrieveRequest"}}}},
        "responses": {
          "200": {"description": "Ranked passages with their ranges.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RetrieveResponse"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/v1/score": {
      "post": {
        "operationId": "score",
        "summary": "Score caller-chosen passages (texts or ranges of a context document), in order.",
        "parameters": [{"$ref": "#/components/parameters/Timeout"}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ScoreRequest"}}}},
        "responses": {
          "200": {"description": "One score per passage, in request order.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ScoreResponse"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/v1/prepare": {
      "post": {
        "operationId": "prepare",
        "summary": "Warm documents ahead of their questions (Prepare).",
        "parameters": [{"$ref": "#/components/parameters/Timeout"}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PrepareRequest"}}}},
        "responses": {
          "200": {"description": "The views warmed.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PrepareResponse"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/v1/model_info": {
      "get": {
        "operationId": "modelInfo",
        "summary": "The loaded models, views and limits (GetModelInfo).",
        "responses": {
          "200": {"description": "Model information.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ModelInfo"}}}},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/health": {
      "get": {
        "operationId": "health",
        "summary": "Readiness: 200 once the model is loaded, 503 while loading or draining.",
        "responses": {
          "200": {"description": "Serving.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}},
          "503": {"description": "Not serving.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}
        }
      }
    },
    "/openapi.json": {
      "get": {
        "operationId": "openapi",
        "summary": "This document.",
        "responses": {"200": {"description": "OpenAPI 3.1 document.", "content": {"application/json": {"schema": {"type": "object"}}}}}
      }
    }
  },
  "components": {
    "parameters": {
      "Timeout": {
        "name": "X-Timeout-Ms", "in": "header", "required": false,
        "description": "The call's deadline in milliseconds (as a gRPC deadline): past it the work stops and the answer is 504.",
        "schema": {"type": "integer", "minimum": 1}
      }
    },
    "responses": {
      "Error": {
        "description": "400 bad request (or a path not in canonical form), 401 unauthenticated, 404 no such route, 405 method not allowed (Allow), 413 over a size limit, 415 body not application/json, 429 busy or too many failed authentications (Retry-After), 499 the client went away, 503 loading or draining, 504 deadline passed.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
      }
    },
    "schemas": {
      "Error": {
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["code", "status", "message"], "properties": {
          "code": {"type": "string", "description": "gRPC status name, e.g. INVALID_ARGUMENT."},
          "status": {"type": "integer", "description": "The HTTP status."},
          "message": {"type": "string", "description": "Names the field, the limit or the byte offset."}}}}
      },
      "Health": {"type": "object", "required": ["status"], "properties": {"status": {"enum": ["SERVING", "NOT_SERVING"]}}},
      "View": {
        "type": "string",
        "description": "A scoring view: lexical, dense, entity or llm (also LEXICAL or SCORING_VIEW_LEXICAL).",
        "examples": ["lexical", "dense", "entity", "llm"]
      },
      "DocumentInput": {
        "description": "A document: its text, or {id, text}.",
        "oneOf": [
          {"type": "string"},
          {"type": "object", "required": ["text"], "additionalProperties": false,
           "properties": {"id": {"type": "string"}, "text": {"type": "string"}}}
        ]
      },
      "RerankRequest": {
        "type": "object", "required": ["query", "documents"],
        "properties": {
          "model": {"type": "string", "description": "Accepted and ignored: one model is served."},
          "query": {"type": "string"},
          "documents": {"type": "array", "items": {"oneOf": [
            {"type": "string"},
            {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}]}},
          "top_n": {"type": "integer", "minimum": 1, "description": "Return the best top_n (default: all)."},
          "return_documents": {"type": "boolean", "default": false},
          "views": {"type": "array", "items": {"$ref": "#/components/schemas/View"}},
          "max_chunks_per_doc": {"description": "Accepted and ignored."},
          "rank_fields": {"description": "Accepted and ignored."},
          "truncation": {"description": "Accepted and ignored: a document over a limit is refused naming it."}
        },
        "additionalProperties": false
      },
      "RerankResponse": {
        "type": "object", "required": ["id", "model", "results", "usage"],
        "properties": {
          "id": {"type": "string"},
          "model": {"type": "string"},
          "results": {"type": "array", "items": {"type": "object", "required": ["index", "relevance_score"], "properties": {
            "index": {"type": "integer", "minimum": 0},
            "relevance_score": {"type": "number"},
            "document": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}}}},
          "usage": {"type": "object", "required": ["total_tokens"], "properties": {"total_tokens": {"type": "integer"}}},
          "meta": {"type": "object"}
        }
      },
      "RetrieveOptions": {
        "type": "object", "additionalProperties": false,
        "properties": {
          "top_k": {"type": "integer", "minimum": 0, "description": "0: the server default."},
          "max_passage_tokens": {"type": "integer", "minimum": 0},
          "overlap_sentences": {"type": "integer", "minimum": 0},
          "return_text": {"type": "boolean", "default": true},
          "explain": {"type": "boolean", "default": false},
          "explain_level": {"enum": ["none", "scores", "sentences", "EXPLAIN_LEVEL_UNSPECIFIED", "EXPLAIN_NONE", "EXPLAIN_SCORES", "EXPLAIN_SENTENCES"],
            "description": "scores: Passage.breakdown (as explain); sentences: also explanations, every sentence with the attention the LLM view paid it. Unset: explain decides."},
          "views": {"type": "array", "items": {"$ref": "#/components/schemas/View"}},
          "entity_scope": {"type": "boolean"},
          "grow_ranges": {"type": "boolean"},
          "view_weights": {"$ref": "#/components/schemas/ViewWeights"}
        }
      },
      "ViewWeights": {
        "type": "object", "additionalProperties": {"type": "number", "minimum": 0},
        "description": "Per-request fusion weights by view name (lexical, dense, entity, llm), naming only views the request fuses; a view not named keeps the server's weight. Scores are then not calibrated probabilities."
      },
      "RetrieveRequest": {
        "type": "object", "required": ["query", "documents"], "additionalProperties": false,
        "properties": {
          "query": {"type": "string"},
          "documents": {"type": "array", "items": {"$ref": "#/components/schemas/DocumentInput"}},
          "options": {"$ref": "#/components/schemas/RetrieveOptions"}
        }
      },
      "PrepareRequest": {
        "type": "object", "required": ["documents"], "additionalProperties": false,
        "properties": {
          "documents": {"type": "array", "items": {"$ref": "#/components/schemas/DocumentInput"}},
          "options": {"$ref": "#/components/schemas/RetrieveOptions"}
        }
      },
      "TextRange": {
        "type": "object", "required": ["start_char", "end_char", "start_byte", "end_byte"],
        "description": "Half-open [start, end): *_char in Unicode code points (Python str indexes), *_byte in UTF-8 bytes.",
        "properties": {
          "start_char": {"type": "integer"}, "end_char": {"type": "integer"},
          "start_byte": {"type": "integer"}, "end_byte": {"type": "integer"}}
      },
      "ViewScore": {
        "type": "object",
        "properties": {"view": {"type": "string"}, "score": {"type": "number"}, "reasons": {"type": "array", "items": {"type": "string"}}}
      },
      "ScoreBreakdown": {
        "type": "object",
        "properties": {
          "lexical": {"type": "number"}, "entity": {"type": "number"}, "fused": {"type": "number"},
          "matched_terms": {"type": "array", "items": {"type": "string"}},
          "views": {"type": "array", "items": {"type": "string"}},
          "view_scores": {"type": "array", "items": {"$ref": "#/components/schemas/ViewScore"}}}
      },
      "Passage": {
        "type": "object", "required": ["rank", "score", "document_index", "range", "origin"],
        "properties": {
          "rank": {"type": "integer", "minimum": 1},
          "score": {"type": "number"},
          "document_index": {"type": "integer", "minimum": 0},
          "document_id": {"type": "string"},
          "range": {"$ref": "#/components/schemas/TextRange"},
          "text": {"type": "string"},
          "origin": {"enum": ["ORIGIN_UNSPECIFIED", "QUERY_MATCH", "ENTITY_SCOPE"]},
          "entities": {"type": "array", "items": {"type": "string"}},
          "breakdown": {"$ref": "#/components/schemas/ScoreBreakdown"},
          "sentences": {"type": "integer"}}
      },
      "Usage": {
        "type": "object",
        "properties": {
          "query_tokens": {"type": "integer"}, "document_tokens": {"type": "integer"},
          "sentences": {"type": "integer"}, "passages": {"type": "integer"},
          "cache_hit": {"type": "boolean"}, "encoded_tokens": {"type": "integer"},
          "unjudged_passages": {"type": "integer"},
          "oversized_passages": {"type": "integer"},
          "timings": {"type": "object", "properties": {
            "validate_ms": {"type": "number"}, "queue_ms": {"type": "number"}, "text_ms": {"type": "number"}, "encode_ms": {"type": "number"},
            "score_ms": {"type": "number"}, "total_ms": {"type": "number"}}}}
      },
      "RetrieveResponse": {
        "type": "object", "required": ["passages", "usage", "model"],
        "properties": {
          "passages": {"type": "array", "items": {"$ref": "#/components/schemas/Passage"}},
          "usage": {"$ref": "#/components/schemas/Usage"},
          "model": {"type": "string"},
          "explanations": {"type": "array", "items": {"$ref": "#/components/schemas/DocumentExplanation"}}}
      },
      "DocumentExplanation": {
        "type": "object", "required": ["document_index", "sentences"],
        "properties": {
          "document_index": {"type": "integer", "minimum": 0},
          "sentences": {"type": "array", "items": {"$ref": "#/components/schemas/SentenceExplanation"}},
          "note": {"type": "string"}}
      },
      "SentenceExplanation": {
        "type": "object", "required": ["range"],
        "properties": {
          "range": {"$ref": "#/components/schemas/TextRange"},
          "attention": {"type": "number", "description": "The attention the question's own tokens paid the sentence's tokens (mean over the read-out's layers and every head); absent: not read by the LLM."}}
      },
      "Span": {"type": "object", "properties": {"start": {"type": "integer"}, "end": {"type": "integer"}}},
      "ScoreRequest": {
        "type": "object", "required": ["query", "passages"], "additionalProperties": false,
        "properties": {
          "query": {"type": "string"},
          "passages": {"type": "array", "items": {"oneOf": [
            {"type": "string"},
            {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}, "additionalProperties": false},
            {"type": "object", "required": ["char_range"], "properties": {"char_range": {"$ref": "#/components/schemas/Span"}}, "additionalProperties": false},
            {"type": "object", "required": ["byte_range"], "properties": {"byte_range": {"$ref": "#/components/schemas/Span"}}, "additionalProperties": false}]}},
          "context": {"$ref": "#/components/schemas/DocumentInput"},
          "options": {"type": "object", "additionalProperties": false, "properties": {
            "views": {"type": "array", "items": {"$ref": "#/components/schemas/View"}},
            "explain": {"type": "boolean"},
            "view_weights": {"$ref": "#/components/schemas/ViewWeights"}}}}
      },
      "ScoreResponse": {
        "type": "object", "required": ["scores", "usage", "model"],
        "properties": {
          "scores": {"type": "array", "items": {"type": "object", "required": ["index", "score"], "properties": {
            "index": {"type": "integer"}, "score": {"type": "number"},
            "range": {"$ref": "#/components/schemas/TextRange"},
            "breakdown": {"$ref": "#/components/schemas/ScoreBreakdown"}}}},
          "usage": {"$ref": "#/components/schemas/Usage"},
          "model": {"type": "string"}}
      },
      "PrepareResponse": {
        "type": "object", "required": ["views", "usage", "model"],
        "properties": {
          "views": {"type": "array", "items": {"type": "string"}},
          "usage": {"$ref": "#/components/schemas/Usage"},
          "model": {"type": "string"}}
      },
      "ModelInfo": {
        "type": "object", "required": ["name", "version", "views", "limits", "default_views"],
        "properties": {
          "name": {"type": "string"}, "version": {"type": "string"}, "description": {"type": "string"},
          "views": {"type": "array", "items": {"type": "string"}},
          "default_views": {"type": "array", "items": {"type": "string"}},
          "limits": {"type": "object", "additionalProperties": {"type": "integer"}},
          "weights_sha256": {"type": "string"},
          "models": {"type": "array", "items": {"type": "object", "properties": {
            "view": {"type": "string"}, "name": {"type": "string"}, "sha256": {"type": "string"}}}},
          "neural_budget_tokens": {"type": "string", "description": "uint64, as the protobuf JSON mapping writes it."},
          "neural_candidates": {"type": "integer"}}
      }
    }
  }
})json";
  return kDocument;
}

}  // namespace attnr::server
