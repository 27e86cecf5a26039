"""The example RAG backend runs against the real server and prints the
passages it got, with their ranges."""
import pathlib
import subprocess
import sys

from conftest import LICENSES, QUESTION, has_answer

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / \
    "rag_backend.py"


def test_rag_backend_example(server):
    files = [f"/usr/share/common-licenses/{name}" for name in LICENSES[:2]]
    out = subprocess.run(
        [sys.executable, str(EXAMPLE), "--target", server.target,
         "--top-k", "3", "--question", QUESTION, *files],
        capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert has_answer(out.stdout)
    assert "GPL-3 chars " in out.stdout  # Cited with its range.
    assert "Context for the LLM" in out.stdout
