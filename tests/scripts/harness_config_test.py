#!/usr/bin/env python3
"""harness/attnr_harness/server_config.py, the way bench and training
scripts derive configs from the shipped one: the shipped config reads back
as written, paths become absolute, settings are set, removed and merged,
and a derived config is served as meant by the real server.

  harness_config_test.py BUILD_DIR
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "harness"))
from attnr_harness import server_config, service  # noqa: E402

SHIPPED = os.path.join(ROOT, "config/server.textproto")


def main():
    build_dir = sys.argv[1]
    failures = []

    def check(ok, what):
        print(("ok  " if ok else "FAIL") + " " + what)
        if not ok:
            failures.append(what)

    cfg = server_config.load(SHIPPED)
    check(cfg.get("transport.listen_address") == "localhost:50051",
          "a nested string reads back")
    check(cfg.get("limits.default_passage_tokens") == 96, "an integer reads back")
    check(cfg.get_all("views.default_views") ==
          ["SCORING_VIEW_LEXICAL", "SCORING_VIEW_DENSE"],
          "a repeated enum reads back in order")
    readout = cfg.get("views.llm.readout")
    check(os.path.isabs(readout) and os.path.exists(readout),
          f"a relative path is made absolute ({readout})")
    check(cfg.get("views.dense.model") == "all-minilm-l6-v2",
          "a pinned model name stays a name")
    again = server_config.loads(cfg.dumps())
    check(again.dumps() == cfg.dumps(), "dumps and loads round-trip")

    # A derived config: BM25 only, a map entry put, limits changed.
    derived = server_config.load(SHIPPED)
    for path in ("views.dense", "views.llm", "views.fusion.model",
                 "views.fusion.model_sha256"):
        derived.remove(path)
    derived.set("views.default_views",
                [server_config.Enum("SCORING_VIEW_LEXICAL")])
    derived.put("views.fusion.weights", "entity", 2.5)
    derived.set("limits.max_top_k", 7)
    derived.set("limits.default_top_k", 3)
    weights = {dict(e)["key"]: dict(e)["value"]
               for e in derived.get_all("views.fusion.weights")}
    check(weights == {"dense": 0.5, "llm": 3, "entity": 2.5},
          f"put replaces one map entry and keeps the others ({weights})")
    # Served: only views this config loads may be weighed.
    derived.set("views.fusion.weights", {"entity": 2.5})
    path = derived.write()
    server = service.Server(build_dir, path)
    try:
        info = server.info()
        views = info.get("views", [])
        check(views == ["SCORING_VIEW_LEXICAL", "SCORING_VIEW_ENTITY"],
              f"the removed views are not served ({views})")
        limits = info.get("limits", {})
        check(limits.get("max_top_k") == 7 and limits.get("default_top_k") == 3,
              f"the changed limits are served ({limits})")
    finally:
        server.stop()
        os.unlink(path)

    print(f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
