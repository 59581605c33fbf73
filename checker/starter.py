"""`plugcheck init NAME`: a small commented starter spec that passes, to edit into a real one."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATE = """\
# {name}: a starter spec written by `plugcheck init`. Check it with
#   plugcheck check {file}
# and edit it into your protocol. The language: README.md, "The language by example".
protocol {name} "a device that plugs slots up to the size a host requests"

const N = 3                         # a constant; `-D N=4` or a config below changes it
type Slot = 0 .. N-1                # a named range

var requested : 0 .. N = 0          # an integer range with its initial value
var plugged : bitmap(N) = {{}}        # one bit per slot, all clear at first
var peak : 0 .. N = 0               # the largest size requested so far (for an invariant)

let n_plugged = popcount(plugged)   # a named expression

# the host asks for a new size: one action instance per value of n
action request(n : 0 .. N) {{
  requested := n
  peak := max(peak, n)              # statements run in order
}}

# the device plugs a free slot while fewer are plugged than requested (the guard)
fair action plug(s : Slot) when not plugged[s] and n_plugged < requested {{
  plugged[s] := true
}}

# ... and unplugs one while more are plugged than requested
fair action unplug(s : Slot) when plugged[s] and n_plugged > requested {{
  plugged[s] := false
}}

invariant never_above_device: n_plugged <= N      # checked in every reachable state
reachable all_plugged: n_plugged == N             # a witness: fails if no reachable state has it
invariant only_what_was_asked: n_plugged <= peak  # never more than the host ever requested

config small {{ N = 2 }}                    # checked too; `benchmark` configs only when named
"""


class StarterError(Exception):
    pass


def starter_path(name: str) -> tuple[Path, str]:
    """NAME or NAME.plug (a path is fine) -> (file, protocol name); the name must be an identifier."""
    path = Path(name if name.endswith(".plug") else name + ".plug")
    proto = path.stem
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", proto):
        raise StarterError(f"`{proto}` is not a name the spec language accepts (letters, digits, _)")
    return path, proto


def write_starter(name: str) -> Path:
    path, proto = starter_path(name)
    if path.exists():
        raise StarterError(f"{path} exists; not overwriting it")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(TEMPLATE.format(name=proto, file=path.as_posix()), encoding="utf-8")
    return path
