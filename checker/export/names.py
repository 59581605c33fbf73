"""Promela identifiers for spec names, and spec text made safe for Promela comments.

SPIN runs the C preprocessor over the model and compiles every global as a field of the C
struct `now`, so a name is unsafe when it is a Promela or C keyword or a lower-case macro of
the generated verifier (`uchar`, `max`, ...). Such names, names with a leading underscore and
names in the exporter's own `tmp_` space get a `u_` prefix; any remaining clash gets trailing
underscores. Spec text (title, file names) only ever reaches the file through `comment`.
"""

from __future__ import annotations

import re

PROMELA_KEYWORDS = frozenset(
    """active assert atomic bit bool break byte c_code c_decl c_expr c_state c_track chan d_proctype
    d_step do else empty enabled eval false fi for full get_priority goto hidden if in init inline int
    len local ltl mtype nempty never nfull np_ od of pc_value printf printm priority proctype provided
    run select set_priority short show skip timeout trace notrace true typedef unless unsigned xr xs
    always eventually until weakuntil stronguntil implies equivalent release""".split()
)
C_KEYWORDS = frozenset(
    """auto break case char const continue default do double else enum extern float for goto if inline
    int long register restrict return short signed sizeof static struct switch typedef union unsigned
    void volatile while _Bool _Complex _Imaginary asm typeof main""".split()
)
# lower-case macros and globals of SPIN 6's generated verifier (pan.h, pan.c) a field name could hit
PAN_NAMES = frozenset(
    """bfs_do_store cas enter_critical final get16bits get_permuted getframe grab_state iam_alive
    leave_critical max maxseq0 minseq0 mix onstack_now onstack_put onstack_zap pptr pthread_equal
    q_sz qptr rand rot uchar uint ulong ushort wasnew now this trpt tt II t ot m boq depth errors
    nstates memcnt hash min abs exit""".split()
)
RESERVED = PROMELA_KEYWORDS | C_KEYWORDS | PAN_NAMES
_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


def safe_base(name: str) -> str:
    """The Promela spelling of a spec identifier (before clash resolution)."""
    if not _IDENT.match(name) or name in RESERVED or name.startswith(("tmp_", "u_")):
        name = "u_" + re.sub(r"[^A-Za-z0-9_]", "_", name)
    return name


class Names:
    """Allocates distinct Promela identifiers; `tmp_*` stays free for the exporter's temporaries."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def group(self, base: str, suffixes: list[str]) -> list[str]:
        """Names base+suffix for every suffix, all unused; the base grows `_` until they are."""
        b = safe_base(base)
        while any(b + s in self.taken for s in suffixes):
            b += "_"
        out = [b + s for s in suffixes]
        self.taken.update(out)
        return out


def comment(text: str) -> str:
    """Any text as the inside of a `/* ... */` comment on one line: printable ASCII only (others
    as <U+XXXX>), no comment delimiters, no backslash (line splicing), no trigraphs."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("<U+005C>")
        elif " " <= ch <= "~":
            out.append(ch)
        else:
            out.append(f"<U+{ord(ch):04X}>")
    s = "".join(out)
    while "*/" in s or "/*" in s or "??" in s:
        s = s.replace("*/", "* /").replace("/*", "/ *").replace("??", "? ?")
    return s
