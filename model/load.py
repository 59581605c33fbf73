"""Reading spec files: `extends` chains and `replace` declarations, merged into one
declaration list that the type checker reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import syntax as S
from .errors import Span, SpecError
from .parse import parse_file

_NAMED = (
    S.ConstDecl,
    S.EnumDecl,
    S.TypeDecl,
    S.VarDecl,
    S.LetDecl,
    S.ActionDecl,
    S.InvariantDecl,
    S.PropertyDecl,
    S.ReachableDecl,
    S.ConfigDecl,
)


@dataclass
class Spec:
    """A spec file with the files it extends merged in: what `build_model` checks."""

    path: str
    source: str
    decls: list[S.Decl]
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def config_decls(self) -> list[S.ConfigDecl]:
        return [d for d in self.decls if isinstance(d, S.ConfigDecl)]


def load_spec(path: str | Path) -> Spec:
    return _load(Path(path), [])


def spec_from_text(source: str, path: str = "<spec>") -> Spec:
    """A spec from text (tests, tools); `extends` resolves relative to the working folder."""
    from .parse import parse_text

    f = parse_text(source, path)
    return _merge(f, Path(path), [])


def _load(path: Path, chain: list[Path]) -> Spec:
    f = parse_file(path)
    return _merge(f, path, chain)


def _merge(f: S.SpecFile, path: Path, chain: list[Path]) -> Spec:
    ext = [d for d in f.decls if isinstance(d, S.ExtendsDecl)]
    sources = {f.path: f.source}
    if not ext:
        for d in f.decls:
            if isinstance(d, S.ReplaceDecl):
                raise SpecError(
                    '`replace` needs a spec to replace in: add `extends "parent.plug"`',
                    d.span,
                    f.source,
                )
        return Spec(f.path, f.source, list(f.decls), sources)
    if len(ext) > 1:
        raise SpecError("a spec extends at most one other spec", ext[1].span, f.source)
    if not ext[0].path.endswith(".plug"):
        # refused before anything is read: an error excerpt must never quote another file
        raise SpecError(f"`extends` takes a spec file ending in .plug, not {ext[0].path!r}", ext[0].span, f.source)
    target = (path.parent / ext[0].path).resolve()
    here = path.resolve()
    if target in chain + [here]:
        raise SpecError(f"`extends` makes a cycle through {target.name}", ext[0].span, f.source)
    if not target.is_file():
        raise SpecError(f"the spec to extend does not exist: {ext[0].path}", ext[0].span, f.source)
    # name the parent the way the child was named: relative paths stay relative
    parent = _load(target if path.is_absolute() else _shown(target), chain + [here])
    sources.update(parent.sources)
    decls = list(parent.decls)
    # the child's protocol header and expectations are its own
    decls = [d for d in decls if not isinstance(d, (S.ProtocolDecl, S.ExpectDecl))]
    for d in f.decls:
        if isinstance(d, S.ExtendsDecl):
            continue
        if isinstance(d, S.ReplaceDecl):
            new = d.decl
            kind = type(new)
            for i, old in enumerate(decls):
                if isinstance(old, kind) and old.name == new.name:
                    if isinstance(old, S.LetDecl) and isinstance(new, S.LetDecl):
                        if len(old.params) != len(new.params):
                            raise SpecError(
                                f"`replace let {new.name}` takes {len(new.params)} parameters,"
                                f" but the let it replaces takes {len(old.params)}",
                                new.span,
                                f.source,
                            ).with_note(f"`{new.name}` is defined here", old.span)
                    if isinstance(old, S.ActionDecl) and isinstance(new, S.ActionDecl):
                        _same_fairness(old, new, f.source)
                    decls[i] = new
                    break
            else:
                word = {S.ActionDecl: "action", S.LetDecl: "let", S.ConstDecl: "const"}[kind]
                raise SpecError(
                    f"`replace {word} {new.name}`: {parent.path} has no {word} named `{new.name}`",
                    new.span,
                    f.source,
                )
            continue
        decls.append(d)
    return Spec(f.path, f.source, decls, sources)


_FAIR_WORDS = {"weak": "fair", "strong": "strong fair"}


def _same_fairness(old: S.ActionDecl, new: S.ActionDecl, source: str) -> None:
    """A replacement that says nothing about fairness must not drop the original's silently:
    the liveness verdicts depend on it."""
    if old.fairness and not new.fairness:
        word = _FAIR_WORDS[old.fairness]
        raise SpecError(
            f"`replace action {new.name}` says no fairness, but the action it replaces is `{word}`:"
            f" write `replace {word} action {new.name}` to keep it or `replace unfair action {new.name}` to drop it",
            new.span,
            source,
        ).with_note(f"`{new.name}` is defined here", old.span)


def decl_name(d: S.Decl) -> str | None:
    return d.name if isinstance(d, _NAMED) else None


def source_of(spec: Spec, span: Span) -> str | None:
    return spec.sources.get(span.file)


def _shown(path: Path) -> Path:
    """The path as messages and traces show it: relative to the working folder when inside it."""
    try:
        return path.relative_to(Path.cwd().resolve())
    except ValueError:
        return path
