"""Where the code of a dev loop lives: `myapp.workflows` or `path/to/flows.py`, found without importing it.

The launcher must know the directories to watch before any of the user's code runs (their code may be
broken right now: that is the point of the loop), so a module name is looked up on the file system
along `sys.path`, with the current directory first, the way `python -m` would see it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path


class TargetNotFound(Exception):
    """A module name or path that names no file: a typo, said in one line before anything starts."""


@dataclass(frozen=True)
class Target:
    """`module`: the dotted name to import; `root`: the directory to put on `sys.path` for it;
    `file`: its source file (a package's `__init__.py`)."""

    module: str
    root: Path
    file: Path

    @property
    def directory(self) -> Path:
        """What a save under should reload: the directory holding the module's file."""
        return self.file.parent

    def to_dict(self) -> dict[str, str]:
        return {"module": self.module, "root": str(self.root), "file": str(self.file)}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> Target:
        return cls(data["module"], Path(data["root"]), Path(data["file"]))


def locate(spec: str, cwd: Path | None = None) -> Target:
    """A `.py` path (its package, if it sits in one, is imported as such) or a dotted module name."""
    here = (cwd or Path.cwd()).resolve()
    if spec.endswith(".py") or "/" in spec or Path(spec).suffix == ".py":
        return _from_path((here / spec).resolve(), spec)
    return _from_name(spec, here)


def _from_path(path: Path, spec: str) -> Target:
    if not path.is_file():
        raise TargetNotFound(f"no such file: {spec}")
    if not path.name.endswith(".py"):
        raise TargetNotFound(f"{spec} is not a .py file")
    parts = [] if path.name == "__init__.py" else [path.stem]
    root = path.parent
    while (root / "__init__.py").exists():  # flows.py inside a package: import it as pkg.flows
        parts.insert(0, root.name)
        root = root.parent
    if not parts or not all(part.isidentifier() for part in parts):
        raise TargetNotFound(f"{spec} cannot be imported: {'.'.join(parts) or path.name!r} is not a module name")
    return Target(".".join(parts), root, path)


def _from_name(name: str, here: Path) -> Target:
    parts = name.split(".")
    if not all(part.isidentifier() for part in parts):
        raise TargetNotFound(f"{name!r} is neither a module name nor a .py path")
    roots = [here, *(Path(p).resolve() for p in sys.path if p and Path(p).is_dir())]
    for root in dict.fromkeys(roots):
        base = root.joinpath(*parts)
        for file in (base.with_suffix(".py"), base / "__init__.py"):
            if file.is_file():
                return Target(name, root, file)
    raise TargetNotFound(f"no module named {name!r} (looked in {here} and on sys.path)")


def watch_dirs(targets: list[Target], extra: list[str], cwd: Path | None = None) -> list[Path]:
    """`--watch` directories if given, else the directories of the targets; nested ones collapse."""
    here = (cwd or Path.cwd()).resolve()
    dirs = [(here / d).resolve() for d in extra] if extra else [t.directory for t in targets]
    for d in dirs:
        if not d.is_dir():
            raise TargetNotFound(f"no such directory to watch: {d}")
    ordered = sorted(set(dirs), key=lambda p: len(p.parts))
    kept: list[Path] = []
    for d in ordered:
        if not any(d.is_relative_to(k) for k in kept):
            kept.append(d)
    return kept
