#!/usr/bin/env python3
"""A minimal RAG backend on attnr: it sends whole documents and a question,
and builds the LLM's context from the passages attnr returns, each cited by
file and exact range. It splits nothing itself: attnr segments, ranks and
locates.

    python3 rag_backend.py --target localhost:50051 \
        --question "How long must the offer stay valid?" FILE...
"""
import argparse
import pathlib

import attnr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=pathlib.Path)
    parser.add_argument("--question", required=True)
    parser.add_argument("--target", default="localhost:50051")
    parser.add_argument("--top-k", type=int, default=4)
    args = parser.parse_args()

    documents = [attnr.Document(text=f.read_text(), id=f.name)
                 for f in args.files]
    with attnr.Retriever(args.target) as retriever:
        result = retriever.retrieve(args.question, documents,
                                    top_k=args.top_k)

    context = []
    for p in result.passages:
        where = (f"{p.document_id} chars {p.range.start_char}-"
                 f"{p.range.end_char}")
        print(f"#{p.rank} {where} score {p.score:.4f} ({p.origin})")
        # The range is exact: slicing the document gives the passage back.
        assert p.range.slice(documents[p.document_index].text) == p.text
        context.append(f"[{where}]\n{p.text.strip()}")
    print("\nContext for the LLM:\n")
    print("\n\n".join(context))
    print(f"\n({result.usage.document_tokens} document tokens, "
          f"{result.usage.total_ms:.0f} ms on the server)")


if __name__ == "__main__":
    main()
