"""LangChain's default splitter on one document: reads the text on stdin and
prints the chunks' [start, end) code-point ranges as JSON.

Run by bench/attnr_bench/langchain_peer.py with the venv that has
langchain-text-splitters (build/python, client/python/requirements-test.txt):
RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200), the
defaults of LangChain's RAG tutorials, separators ["\\n\\n", "\\n", " ", ""].
"""
import json
import sys

from langchain_text_splitters import RecursiveCharacterTextSplitter


def main():
    text = sys.stdin.read()
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=1000, chunk_overlap=200, add_start_index=True)
    out = []
    for d in splitter.create_documents([text]):
        start = d.metadata["start_index"]
        if start < 0:  # Not found again in the text (never seen so far).
            continue
        out.append([start, start + len(d.page_content)])
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
