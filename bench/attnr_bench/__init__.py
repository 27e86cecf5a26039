"""attnr evaluation and benchmark harness (run with `make bench`)."""
