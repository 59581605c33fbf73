"""Name resolution and type checking: a merged Spec plus a configuration becomes a
typed Model with every constant bound and every range known."""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from . import syntax as S
from . import typed as T
from .check_expr import BUILTINS, Entry, ExprChecker, Scope, plural
from .domains import ArrayT, BitmapT, BoolT, EnumT, IntT, is_finite
from .errors import Span, SpecError
from .load import Spec

__all__ = ["BUILTINS", "CONFIG_MODIFIERS", "build_model", "config_names"]

CONFIG_MODIFIERS = {"explicit", "symbolic", "benchmark"}
_KEYWORDS_HINT = {"=": "=="}


def config_names(spec: Spec) -> list[str]:
    return ["default"] + [c.name for c in spec.config_decls]


def build_model(spec: Spec, config: str | None = None, overrides: Mapping[str, int] | None = None) -> T.Model:
    """Type-check `spec` under one configuration ("default" or None: the file's constants)."""
    try:
        return _Checker(spec).run(config, dict(overrides or {}))
    except SpecError as e:
        if overrides and not e.message.startswith("-D "):
            # the spec's text is fine with its own constants: name what the user changed
            given = " ".join(f"-D {k}={v}" for k, v in overrides.items())
            raise e.with_note(f"with the constants overridden on the command line: {given}") from None
        raise


class _Checker(ExprChecker):
    # ---- driver
    def run(self, config: str | None, overrides: dict[str, int]) -> T.Model:
        spec = self.spec
        self._declare_names()
        cfg = self._config(config, overrides)
        # constants in order, then enums and types (which may use constants)
        for d in spec.decls:
            if isinstance(d, S.ConstDecl):
                st = self.settings.get(d.name)
                if isinstance(st, int):
                    self.consts[d.name] = st
                elif st is not None:
                    self.consts[d.name] = self.const_int(st, f"config setting `{d.name}`")
                else:
                    self.consts[d.name] = self.const_int(d.value, f"constant `{d.name}`")
            elif isinstance(d, S.EnumDecl):
                self.enums[d.name] = EnumT(d.name, d.members)
            elif isinstance(d, S.TypeDecl):
                self.types[d.name] = self.resolve_type(d.type)
        for d in spec.decls:
            if isinstance(d, S.ConstDecl):
                cfg.values[d.name] = self.consts[d.name]
        model_vars = [self._var(d) for d in spec.decls if isinstance(d, S.VarDecl)]
        if not model_vars:
            first = next((d.span for d in spec.decls if d.span.file == spec.path and d.span.line), None)
            raise self.err(
                "the spec declares no variables, so there is no state to check; add a `var`",
                first or Span(spec.path, 1, 1),
            )
        for d in spec.decls:
            if isinstance(d, S.LetDecl):
                self.lets[d.name] = self._let(d)
        actions = [self._action(d) for d in spec.decls if isinstance(d, S.ActionDecl)]
        props: list[T.PropT] = []
        for d in spec.decls:
            if isinstance(d, S.InvariantDecl):
                props.append(T.PropT(d.name, "invariant", self.bool_expr(d.expr, Scope()), None, d.span))
            elif isinstance(d, S.ReachableDecl):
                props.append(T.PropT(d.name, "reachable", self.bool_expr(d.expr, Scope()), None, d.span))
            elif isinstance(d, S.PropertyDecl):
                goal = self.bool_expr(d.goal, Scope()) if d.goal is not None else None
                props.append(T.PropT(d.name, d.kind, self.bool_expr(d.expr, Scope()), goal, d.span))
        allow_deadlock = False
        expects: dict[str, str] = {}
        name, title = "", ""
        prop_names = {p.name for p in props}
        for d in spec.decls:
            if isinstance(d, S.ProtocolDecl):
                name, title = d.name, d.title
            elif isinstance(d, S.AllowDecl):
                if d.what != "deadlock":
                    raise self.err(f"`allow {d.what}`: only `allow deadlock` is known", d.span)
                allow_deadlock = True
            elif isinstance(d, S.ExpectDecl):
                if d.verdict not in ("violated", "holds"):
                    raise self.err(f"`expect {d.verdict}`: expected `violated` or `holds`", d.span)
                if d.prop not in prop_names and d.prop != "deadlock":
                    close = difflib.get_close_matches(d.prop, list(prop_names), n=1)
                    hint = f"; did you mean `{close[0]}`?" if close else ""
                    raise self.err(f"`expect {d.verdict} {d.prop}`: no property `{d.prop}`{hint}", d.span)
                expects[d.prop] = d.verdict
        return T.Model(
            name=name or _stem(spec.path),
            title=title,
            path=spec.path,
            source=spec.source,
            config=cfg,
            consts=dict(self.consts),
            enums=dict(self.enums),
            vars=model_vars,
            lets=dict(self.lets),
            actions=actions,
            properties=props,
            allow_deadlock=allow_deadlock,
            expects=expects,
            sources=dict(spec.sources),
        )

    def _declare_names(self) -> None:
        kinds = {
            S.ConstDecl: "const",
            S.EnumDecl: "enum",
            S.TypeDecl: "type",
            S.VarDecl: "var",
            S.LetDecl: "let",
            S.ActionDecl: "action",
            S.InvariantDecl: "property",
            S.PropertyDecl: "property",
            S.ReachableDecl: "property",
        }
        configs: dict[str, Span] = {}
        consts = {d.name for d in self.spec.decls if isinstance(d, S.ConstDecl)}
        for d in self.spec.decls:
            if isinstance(d, S.ConfigDecl):
                if d.name in configs or d.name == "default":
                    raise self.err(
                        f"config `{d.name}` is already defined"
                        if d.name != "default"
                        else "`default` names the file's own constants; choose another config name",
                        d.span,
                    )
                configs[d.name] = d.span
                self._check_config_decl(d, consts)
                continue
            kind = kinds.get(type(d))
            if kind is None:
                continue
            self._declare(d.name, kind, d.span)  # type: ignore[union-attr]
            if isinstance(d, S.EnumDecl):
                for m, sp in zip(d.members, d.member_spans or [d.span] * len(d.members), strict=True):
                    self._declare(m, "member", sp, d.name)

    def _check_config_decl(self, c: S.ConfigDecl, consts: set[str]) -> None:
        """Every config is checked for its modifiers and setting names, whichever one is built."""
        for m, msp in zip(c.modifiers, c.modifier_spans or [c.span] * len(c.modifiers), strict=True):
            if m not in CONFIG_MODIFIERS:
                close = difflib.get_close_matches(m, sorted(CONFIG_MODIFIERS), n=1)
                hint = f"did you mean `{close[0]}`? " if close else ""
                raise self.err(f"unknown config modifier `{m}`; {hint}expected explicit, symbolic or benchmark", msp)
        seen: set[str] = set()
        for st in c.settings:
            if st.name not in consts:
                close = difflib.get_close_matches(st.name, sorted(consts), n=1)
                hint = f"; did you mean `{close[0]}`?" if close else ""
                raise self.err(f"config `{c.name}` sets `{st.name}`, which is not a constant{hint}", st.span)
            if st.name in seen:
                raise self.err(f"config `{c.name}` sets `{st.name}` twice", st.span)
            seen.add(st.name)

    def _declare(self, name: str, kind: str, span: Span, value: object = None) -> None:
        if name in BUILTINS:
            raise self.err(f"`{name}` is a built-in function and cannot be redefined", span)
        if name in self.names:
            prev = self.names[name]
            raise self.err(f"`{name}` is already defined", span).with_note(
                f"the {prev.kind} `{name}` is defined here", prev.span
            )
        self.names[name] = Entry(kind, span, value)

    def _config(self, config: str | None, overrides: dict[str, int]) -> T.ConfigT:
        """The chosen config's settings (expressions, bound in `run`) and engines."""
        consts = {d.name for d in self.spec.decls if isinstance(d, S.ConstDecl)}
        self.settings: dict[str, S.Expr | int] = {}
        engines: tuple[str, ...] = ("explicit",)
        bench = False
        span = Span(self.spec.path, 0, 0)
        name = config or "default"
        if name != "default":
            decls = [c for c in self.spec.config_decls if c.name == name]
            if not decls:
                names = [c.name for c in self.spec.config_decls]
                close = difflib.get_close_matches(name, names, n=1)
                hint = f"; did you mean `{close[0]}`?" if close else ""
                raise SpecError(
                    f"no config `{name}` in {self.spec.path}{hint} (configs: " + ", ".join(["default", *names]) + ")",
                    Span(self.spec.path, 0, 0),
                )
            c = decls[0]
            span = c.span
            mods = set(c.modifiers)
            bench = "benchmark" in mods
            engines = tuple(e for e in ("explicit", "symbolic") if e in mods) or ("explicit",)
            for st in c.settings:
                self.settings[st.name] = st.value
        for k, v in overrides.items():
            if k not in consts:
                close = difflib.get_close_matches(k, sorted(consts), n=1)
                hint = f"; did you mean `{close[0]}`?" if close else ""
                raise SpecError(
                    f"-D {k}={v}: `{k}` is not a constant of {self.spec.path}{hint}", Span(self.spec.path, 0, 0)
                )
            self.settings[k] = v
        return T.ConfigT(name, {}, engines, bench, span)

    # ---- declarations
    def _var(self, d: S.VarDecl) -> T.VarT:
        from .ground import const_value

        ty = self.resolve_type(d.type)
        init = None
        if d.init is not None:
            ety = ty  # an array starts with the same value in every element
            while isinstance(ety, ArrayT):
                ety = ety.elem
            init = self.expr(d.init, Scope(allow_vars=False, what=f"the initial value of `{d.name}`"), ety)
            self.assignable(ety, init, d.init.span, f"`{d.name}`")
            v = const_value(init, self)
            if isinstance(ety, IntT) and not ety.lo <= int(v) <= ety.hi:  # type: ignore[call-overload]
                raise self.err(f"the initial value {v} of `{d.name}` is out of {ety}", d.init.span)
        elif d.any_init and not is_finite(ty):
            raise self.err(f"`{d.name} = any` needs a finite type", d.span)
        v = T.VarT(d.name, ty, init, d.any_init, d.span)
        self.vars[d.name] = v
        return v

    def _let(self, d: S.LetDecl) -> T.LetDef:
        params = tuple((p.name, self.resolve_type(p.type)) for p in d.params)
        self._no_dup_params(d.params)
        if d.type is None:
            body = self.expr(d.body, Scope(dict(params)), None)
            return T.LetDef(d.name, params, body, body.ty, d.span)
        # a declared result type is the body's context (a bitmap's width) and is checked
        want = self.resolve_type(d.type)
        body = self.expr(d.body, Scope(dict(params)), want)
        bt = body.ty
        if isinstance(want, IntT) and isinstance(bt, IntT) and not want.lo <= bt.lo <= bt.hi <= want.hi:
            raise self.err(f"`{d.name}` is declared {want}, but its value may be anywhere in {bt}", d.body.span)
        self.assignable(want, body, d.body.span, f"the result of `{d.name}`")
        return T.LetDef(d.name, params, body, want if isinstance(want, BitmapT) else bt, d.span)

    def _no_dup_params(self, ps: tuple[S.Param, ...]) -> None:
        seen: set[str] = set()
        for p in ps:
            if p.name in seen:
                raise self.err(f"parameter `{p.name}` appears twice", p.span)
            if p.name in self.names and self.names[p.name].kind in ("var", "const", "member"):
                raise self.err(f"parameter `{p.name}` hides the {self.names[p.name].kind} `{p.name}`", p.span)
            seen.add(p.name)

    def _action(self, d: S.ActionDecl) -> T.ActionT:
        self._no_dup_params(d.params)
        params = tuple((p.name, self.index_type(p.type, f"parameter `{p.name}`")) for p in d.params)
        scope = Scope(dict(params))
        guard = self.bool_expr(d.guard, scope) if d.guard is not None else T.Lit(True, BoolT())
        body = self.block(d.body, scope)
        fairness = "" if d.fairness == "unfair" else d.fairness
        return T.ActionT(d.name, params, guard, body, fairness, d.span)

    # ---- statements
    def block(self, stmts: tuple[S.Stmt, ...], scope: Scope) -> tuple[T.Stmt, ...]:
        out: list[T.Stmt] = []
        scope = scope.child()
        for s in stmts:
            if isinstance(s, S.LocalLet):
                if s.name in scope.locals:
                    raise self.err(f"`{s.name}` is already defined in this action", s.span)
                if s.name in self.names and self.names[s.name].kind in ("var", "const", "member", "let"):
                    raise self.err(f"`let {s.name}` hides the {self.names[s.name].kind} `{s.name}`", s.span)
                v = self.expr(s.value, scope, None)
                if isinstance(v.ty, BitmapT) and v.ty.width is None:
                    raise self.err(
                        "cannot tell this bitmap's width; compare or combine it with a typed bitmap", s.value.span
                    )
                out.append(T.LetT(s.name, v, s.span))
                scope.locals[s.name] = v.ty
            elif isinstance(s, S.Assign):
                out.append(self.assign(s, scope))
            elif isinstance(s, S.If):
                out.append(
                    T.IfT(self.bool_expr(s.cond, scope), self.block(s.then, scope), self.block(s.other, scope), s.span)
                )
            elif isinstance(s, S.For):
                ty = self.index_type(s.type, f"loop variable `{s.var}`")
                out.append(T.ForT(s.var, ty, self.block(s.body, scope.child(**{s.var: ty})), s.span))
        return tuple(out)

    def assign(self, s: S.Assign, scope: Scope) -> T.AssignT:
        if s.target in scope.locals:
            raise self.err(f"cannot assign to `{s.target}`: it is a parameter or a local let", s.span)
        e = self.names.get(s.target)
        if e is None:
            raise self.undefined(s.target, s.span, scope)
        if e.kind != "var":
            raise self.err(f"cannot assign to `{s.target}`: it is a {e.kind}, not a variable", s.span)
        ty = self.vars[s.target].ty
        path: list[T.Expr] = []
        bit: T.Expr | None = None
        for i, ix in enumerate(s.indices):
            if isinstance(ty, ArrayT):
                path.append(self.index_expr(ix, ty.index, scope, s.target))
                ty = ty.elem
            elif isinstance(ty, BitmapT) and i == len(s.indices) - 1:
                bit = self.index_expr(ix, IntT(0, (ty.width or 1) - 1), scope, s.target, ty.width)
                ty = BoolT()
            elif i == 0:
                raise self.err(f"`{s.target}` is {ty}, not an array or a bitmap; it takes no index", ix.span)
            else:
                raise self.err(
                    f"`{s.target}` takes {i} {plural(i, 'index', 'indexes')} here, not {len(s.indices)}", ix.span
                )
        value = self.expr(s.value, scope, ty)
        self.assignable(ty, value, s.value.span, f"`{s.target}`")
        return T.AssignT(s.target, tuple(path), bit, value, ty, s.span)


def _stem(path: str) -> str:
    import os

    return os.path.splitext(os.path.basename(path))[0]
