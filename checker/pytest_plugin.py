"""pytest plugin (entry point `pytest11: plugcheck`): `pytest specs/` collects every
`*.plug` file, one test item per (config, property), named `spec.plug::config::property`.
Each config is checked once, on first use, and its result is shared by its items. A
property passes when it gets the verdict the spec expects (`expect violated` included);
a failure shows the rendered counterexample; an inconclusive result is a skip. Configs the
run would not check (benchmark, symbolic-only) are skipped items with the reason.

Only pytest is imported here: the checker loads when a spec file is collected."""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "plugcheck_exclude",
        type="linelist",
        default=[],
        help="glob patterns (relative to the rootdir) of *.plug files not to collect unless named on the command line",
    )
    group = parser.getgroup("plugcheck")
    group.addoption(
        "--plugcheck-benchmarks", action="store_true", help="also check the configs marked `benchmark` in *.plug files"
    )


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix != ".plug":
        return None
    if not parent.session.isinitpath(file_path):
        try:
            rel = file_path.relative_to(parent.config.rootpath).as_posix()
        except ValueError:
            rel = file_path.as_posix()
        if any(fnmatch.fnmatch(rel, pat) for pat in parent.config.getini("plugcheck_exclude")):
            return None
    return SpecFile.from_parent(parent, path=file_path)


class PropertyFailed(Exception):
    """A property did not get the verdict the spec expects; carries what to render."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class SpecFile(pytest.File):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._spec: Any = None
        self._runs: dict[str, Any] = {}  # config -> (RunResult, Model) or the exception it raised

    @property
    def spec_path(self) -> str:
        """The path as the CLI would print it: relative to the working folder where possible."""
        try:
            return os.path.relpath(self.path)
        except ValueError:
            return str(self.path)

    def collect(self) -> Any:
        from checker.run import Options, Skipped, plan
        from model import SpecError, build_model, load_spec

        try:
            self._spec = load_spec(self.spec_path)
            configs: list[str] = []
            if self.config.getoption("plugcheck_benchmarks"):
                configs = ["default"] + [c.name for c in self._spec.config_decls]
            decls = {c.name: c for c in self._spec.config_decls}
            planned = list(plan(self._spec, Options(configs=configs)))
            named = {x.config if isinstance(x, Skipped) else x[0] for x in planned}
            for name, decl in decls.items():
                if name not in named and "benchmark" in decl.modifiers:
                    why = "a benchmark config (run with --plugcheck-benchmarks)"
                    planned.append(Skipped(self.spec_path, name, why))
            for item in planned:
                config, reason = (item.config, item.reason) if isinstance(item, Skipped) else (item[0], "")
                model = build_model(self._spec, config, {})
                lines = {p.name: p.span.line for p in model.properties if p.span.file == self.spec_path}
                for prop in property_names(model):
                    name, line = f"{config}::{prop}", max(lines.get(prop, 1) - 1, 0)
                    node = PropertyItem.from_parent(
                        self, name=name, spec_config=config, prop=prop, skip=reason, line=line
                    )
                    if reason:  # a skip mark: reported at the spec file, not inside this plugin
                        node.add_marker(pytest.mark.skip(reason=reason))
                    yield node
        except SpecError as e:
            raise self.CollectError(e.render()) from None

    def run(self, config: str) -> Any:
        """Check one config (once) and return (RunResult, Model)."""
        if config not in self._runs:
            from checker.results import RunResult
            from checker.run import Options, check_spec
            from model import build_model

            try:
                res = [r for r in check_spec(self._spec, Options(configs=[config])) if isinstance(r, RunResult)]
                self._runs[config] = (res[0], build_model(self._spec, config, {}))
            except Exception as e:  # noqa: BLE001 - re-raised in every item of the config
                self._runs[config] = e
        got = self._runs[config]
        if isinstance(got, Exception):
            raise got
        return got


def property_names(model: Any) -> list[str]:
    """The properties a check of the model reports: the spec's own, deadlock (unless
    allowed) and range, in the engine's order."""
    names = [p.name for p in model.properties if p.kind in ("invariant", "reachable")]
    if not model.allow_deadlock:
        names.append("deadlock")
    names.append("range")
    names += [p.name for p in model.properties if p.kind not in ("invariant", "reachable")]
    return list(dict.fromkeys(names))


class PropertyItem(pytest.Item):
    def __init__(self, *, spec_config: str, prop: str, skip: str = "", line: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.line = line  # 0-based, as pytest reports locations
        self.config_name = spec_config
        self.prop = prop
        self.skip_reason = skip

    def runtest(self) -> None:
        if self.skip_reason:
            pytest.skip(self.skip_reason)
        assert isinstance(self.parent, SpecFile)
        result, model = self.parent.run(self.config_name)
        p = next((x for x in result.properties if x.name == self.prop), None)
        self.user_properties += [
            ("engine", result.engine),
            ("states", result.states),
            ("transitions", result.transitions),
            ("depth", result.depth),
        ]
        if p is None:
            pytest.skip(f"the {result.engine} engine does not report `{self.prop}`")
        self.user_properties.append(("status", p.status))
        if p.passed is None:
            pytest.skip(f"inconclusive: {p.message}")
        if p.passed is False:
            from checker.report.text import property_text

            raise PropertyFailed(property_text(model, result, p))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, PropertyFailed):
            return excinfo.value.text
        from model import SpecError

        if isinstance(excinfo.value, SpecError):
            return excinfo.value.render()
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, self.line, f"{self.config_name}::{self.prop}"
