"""Reading spec files: `extends` chains and `replace` declarations, merged into one
declaration list that the type checker reads."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from . import syntax as S
from .errors import Span, SpecError
from .spec_files import parse_file

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
    return _merge_chain(parse_file(Path(path)), Path(path))


def spec_from_text(source: str, path: str = "<spec>") -> Spec:
    """A spec from text (tests, tools); `extends` resolves relative to the working folder."""
    from .parse import parse_text

    return _merge_chain(parse_text(source, path), Path(path))


def _merge_chain(f: S.SpecFile, path: Path) -> Spec:
    """Follow `extends` from `f` to the root of its chain (a loop, not recursion: the chain's
    length is the user's), then merge from the root down."""
    files = [f]
    chain: list[Path] = []  # the files below the current one, resolved (cycles)
    while True:
        _own_checks(files[-1])
        target = _parent_of(files[-1], path, chain)
        if target is None:
            break
        chain.append(_resolved(path))
        # name the parent the way the child was named: relative paths stay relative
        path = target if path.is_absolute() else _shown(target)
        files.append(parse_file(path))
    spec = _root(files[-1])
    for child in reversed(files[:-1]):
        spec = _merge(child, spec)
    return spec


def _own_checks(f: S.SpecFile) -> None:
    for d in f.decls:
        if isinstance(d, S.ActionDecl) and d.new_params:
            raise SpecError(
                "`with new parameters` belongs to a `replace action` that changes the parameters", d.span, f.source
            )


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, ValueError):
        return path


def _parent_of(f: S.SpecFile, path: Path, chain: list[Path]) -> Path | None:
    """The file `f` extends, checked: a .plug file that exists and makes no cycle."""
    ext = [d for d in f.decls if isinstance(d, S.ExtendsDecl)]
    if not ext:
        return None
    if len(ext) > 1:
        raise SpecError("a spec extends at most one other spec", ext[1].span, f.source)
    name = ext[0].path
    if not name.endswith(".plug"):
        # refused before anything is read: an error excerpt must never quote another file
        raise SpecError(f"`extends` takes a spec file ending in .plug, not {name!r}", ext[0].span, f.source)
    try:
        if "\0" in name:
            raise ValueError("a file name cannot contain a NUL character")
        target = (path.parent / name).resolve()
        here = _resolved(path)
        if target in chain + [here]:
            raise SpecError(f"`extends` makes a cycle through {target.name}", ext[0].span, f.source)
        exists = target.is_file()
    except (OSError, ValueError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SpecError(f"cannot open the spec to extend: {why}", ext[0].span, f.source) from None
    if not exists:
        raise SpecError(f"the spec to extend does not exist: {name}", ext[0].span, f.source)
    return target


def _root(f: S.SpecFile) -> Spec:
    """The spec at the root of a chain: `replace` and `extend` have nothing to work in."""
    for d in f.decls:
        if isinstance(d, (S.ReplaceDecl, S.ExtendActionDecl, S.ExtendEnumDecl)):
            word = "replace" if isinstance(d, S.ReplaceDecl) else "extend"
            raise SpecError(
                f'`{word}` needs a spec to {word} in: add `extends "parent.plug"`',
                d.span,
                f.source,
            )
    return Spec(f.path, f.source, list(f.decls), {f.path: f.source})


def _merge(f: S.SpecFile, parent: Spec) -> Spec:
    """A child spec file on top of its merged parent."""
    sources = {f.path: f.source}
    sources.update(parent.sources)
    decls = list(parent.decls)
    # the child's protocol header and expectations are its own
    decls = [d for d in decls if not isinstance(d, (S.ProtocolDecl, S.ExpectDecl))]
    for d in f.decls:
        if isinstance(d, S.ExtendsDecl):
            continue
        if isinstance(d, (S.ExtendActionDecl, S.ExtendEnumDecl)):
            _extend(decls, d, parent.path, f.source)
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
                        _same_params(old, new, f.source)
                    decls[i] = new
                    break
            else:
                word = _REPLACEABLE[kind]
                raise SpecError(
                    f"`replace {word} {new.name}`: {parent.path} has no {word} named `{new.name}`",
                    new.span,
                    f.source,
                )
            continue
        decls.append(d)
    return Spec(f.path, f.source, decls, sources)


_FAIR_WORDS = {"weak": "fair", "strong": "strong fair"}
_REPLACEABLE: dict[type, str] = {
    S.ActionDecl: "action",
    S.LetDecl: "let",
    S.ConstDecl: "const",
    S.VarDecl: "var",
    S.InvariantDecl: "invariant",
    S.PropertyDecl: "property",
    S.ReachableDecl: "reachable",
}


def _extend(decls: list[S.Decl], d: S.ExtendActionDecl | S.ExtendEnumDecl, parent: str, source: str) -> None:
    """Apply an `extend` to the parent's declarations in place: the parent's text stays the one
    place the action or enum is written, so a variant follows its changes."""
    kind, word = (S.ActionDecl, "action") if isinstance(d, S.ExtendActionDecl) else (S.EnumDecl, "enum")
    at = next((i for i, old in enumerate(decls) if isinstance(old, kind) and old.name == d.name), None)
    if at is None:
        raise SpecError(f"`extend {word} {d.name}`: {parent} has no {word} named `{d.name}`", d.span, source)
    old = decls[at]
    if isinstance(d, S.ExtendActionDecl) and isinstance(old, S.ActionDecl):
        guard = old.guard
        if d.guard is not None:
            guard = d.guard if guard is None else S.Binop("and", guard, d.guard, d.guard.span)
        decls[at] = dataclasses.replace(old, guard=guard, body=d.before + old.body + d.after)
    elif isinstance(d, S.ExtendEnumDecl) and isinstance(old, S.EnumDecl):
        for m, sp in zip(d.members, d.member_spans, strict=True):
            if m in old.members or d.members.count(m) > 1:
                raise SpecError(f"`extend enum {d.name}`: `{m}` is already a member", sp, source)
        decls[at] = dataclasses.replace(
            old, members=old.members + d.members, member_spans=old.member_spans + d.member_spans
        )


def _same_params(old: S.ActionDecl, new: S.ActionDecl, source: str) -> None:
    """A replacement keeps the parameters unless it says it changes them: a changed list
    would otherwise slip in silently when the parent's action changes."""
    same = old.params == new.params
    if not same and not new.new_params:
        raise SpecError(
            f"`replace action {new.name}` takes ({_params(new)}), but the action it replaces takes ({_params(old)}):"
            f" write `replace action {new.name}(...) with new parameters` to change them on purpose",
            new.span,
            source,
        ).with_note(f"`{new.name}` is defined here", old.span)
    if same and new.new_params:
        raise SpecError(
            f"`replace action {new.name}` says `with new parameters` but keeps the parameters of the action"
            " it replaces: leave it out",
            new.span,
            source,
        ).with_note(f"`{new.name}` is defined here", old.span)


def _params(a: S.ActionDecl) -> str:
    return ", ".join(f"{p.name} : {_type_text(p.type)}" for p in a.params)


def _type_text(t: S.TypeExpr) -> str:
    if isinstance(t, S.NamedType):
        return t.name
    if isinstance(t, S.BoolType):
        return "bool"
    if isinstance(t, S.BitmapType):
        return "bitmap(...)"
    if isinstance(t, S.ArrayType):
        return f"[{_type_text(t.index)}] {_type_text(t.elem)}"
    if isinstance(t, S.RangeType):
        return f"{_expr_text(t.lo)} .. {_expr_text(t.hi)}"
    return "?"


def _expr_text(e: S.Expr) -> str:
    """Enough of an expression to name a parameter's range in a message."""
    if isinstance(e, S.IntLit):
        return str(e.value)
    if isinstance(e, S.Name):
        return e.id
    if isinstance(e, S.Binop):
        return f"{_expr_text(e.left)}{e.op}{_expr_text(e.right)}"
    if isinstance(e, S.Unop):
        return f"{e.op}{_expr_text(e.operand)}"
    return "..."


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
