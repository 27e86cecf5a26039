"""The benchmark's peers (Xapian BM25, the LangChain-default pipeline); the
datasets, metrics and server driver are the shared harness
(harness/attnr_harness)."""
