"""How long an editor waits for `plugcheck lsp` (not collected by pytest).

    python tests/bench/lsp_latency.py                          # specs/virtio_mem_sbm.plug
    python tests/bench/lsp_latency.py specs/bugs/L4.plug

Starts the server, opens the spec and reports, in milliseconds: start-up to the
`initialize` answer, opening to the first diagnostics, a one-character edit that breaks
the spec to its diagnostics (including the 0.3 s debounce), the edit back, and a hover."""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.test_lsp import Client  # noqa: E402


def change(c: Client, uri: str, version: int, text: str) -> None:
    params = {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]}
    c.notify("textDocument/didChange", params)


def main() -> None:
    path = (ROOT / (sys.argv[1] if len(sys.argv) > 1 else "specs/virtio_mem_sbm.plug")).resolve()
    text = path.read_text()
    t0 = time.perf_counter()
    c = Client()
    c.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}})
    c.notify("initialized", {})
    t1 = time.perf_counter()
    uri = c.open(path, text)
    diags = c.diagnostics(uri)
    t2 = time.perf_counter()
    broken = text.replace(" := ", " = ", 1)  # the first assignment written with `=`
    change(c, uri, 2, broken)
    errors = c.diagnostics(uri)
    t3 = time.perf_counter()
    change(c, uri, 3, text)
    fixed = c.diagnostics(uri)
    t4 = time.perf_counter()
    # the name of the first var (or replaced const) declared here
    line, col = next(
        ((i, len(w)) for i, s in enumerate(text.splitlines()) for w in ("var ", "replace const ") if s.startswith(w)),
        (0, 0),
    )
    c.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": line, "character": col}})
    t5 = time.perf_counter()
    c.close()
    print(f"{path.relative_to(ROOT)}: {len(text.splitlines())} lines")
    print(f"  start to initialize answer  {1000 * (t1 - t0):7.0f} ms")
    print(f"  open to diagnostics         {1000 * (t2 - t1):7.0f} ms  ({len(diags)} errors)")
    print(f"  breaking edit to diagnostics{1000 * (t3 - t2):7.0f} ms  ({len(errors)} errors; 300 ms is the debounce)")
    print(f"  fixing edit to diagnostics  {1000 * (t4 - t3):7.0f} ms  ({len(fixed)} errors)")
    print(f"  hover                       {1000 * (t5 - t4):7.0f} ms")


if __name__ == "__main__":
    main()
