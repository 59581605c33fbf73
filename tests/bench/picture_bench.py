"""Time of `plugcheck graph --project` pictures after the search (not collected by pytest).

    python tests/bench/picture_bench.py                                   # virtio_mem_sbm, mb[0]
    python tests/bench/picture_bench.py --project 'mb[0]' 'sb[0]' -D S=3

Runs the search once (liveness refused), then times the transitions as arrays (free when the
search recorded them), the projection, and the SVG layout and text."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from checker.liveness.record import search_edges  # noqa: E402
from checker.picture.svg import to_svg  # noqa: E402
from checker.picture.views import projection  # noqa: E402
from checker.search import Budget, explore  # noqa: E402
from model import build_model, load_spec  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", default=str(ROOT / "specs" / "virtio_mem_sbm.plug"))
    ap.add_argument("--config", default=None)
    ap.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--project", nargs="+", default=["mb[0]"])
    a = ap.parse_args()
    defines = {k: int(v) for k, _, v in (d.partition("=") for d in a.defines)}
    model = build_model(load_spec(Path(a.spec)), a.config, defines)
    t = time.perf_counter()
    res, ex = explore(model, Budget(max_graph_states=0))
    print(f"{model.name} {res.constants}: {res.states:,} states; search {time.perf_counter() - t:.2f} s")
    t0 = time.perf_counter()
    edges = search_edges(ex, res.transitions)
    t1 = time.perf_counter()
    d = projection(model, ex, edges, a.project)
    t2 = time.perf_counter()
    svg = to_svg(d)
    t3 = time.perf_counter()
    print(
        f"edges {t1 - t0:.2f} s (0 when the search records them), projection {t2 - t1:.2f} s, "
        f"layout+SVG {t3 - t2:.2f} s: {len(d.nodes)} boxes, {len(d.edges)} arrows, {len(svg):,} bytes; "
        f"after the search {t3 - t0:.2f} s"
    )


if __name__ == "__main__":
    main()
