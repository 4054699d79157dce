"""The dev loop's line at the top of every screen: the worker ready (and on which code), reloading, or the
import error to fix (file, line, message), read from the status file through the app's `DevSession`."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.widgets import Static

from tui.dev.status import DevSession, DevStatus

POLL_SECONDS = 0.2
NAMES_ROOM = 40


def describe(status: DevStatus | None, watched: list[Path]) -> tuple[str, Text]:
    """The banner's class (its colour) and text for a status."""
    keys = Text("  L log · w start a workflow", style="dim")
    log_key = Text("  L log", style="dim")
    if status is None or status.state == "starting":
        why = f": {status.reason}" if status and status.reason and status.reason != "start" else ""
        return "starting", Text.assemble(("↻ worker starting", "bold"), why, "…", keys)
    if status.state == "error":
        where = f"{status.where}  " if status.where else ""
        title = "import error" if status.reason == "import" else "worker could not start"
        return "error", Text.assemble(
            (f"✗ {title}  ", "bold"),
            (where, "bold underline"),
            status.message,
            "  · save a fix to restart",
            log_key,
        )
    if status.state == "stopped":
        return "starting", Text.assemble(("■ worker stopped", "bold"), keys)
    names = _names(status.workflows) or "no @workflow registered"
    dirs = " ".join(_short(d) for d in watched)
    return "ready", Text.assemble(
        ("● ", "bold green"),
        (f"worker {status.executor_id} ready", "bold"),
        f" · code {status.code_version} · {names} · watching {dirs}",
        keys,
    )


def _names(names: list[str], room: int = NAMES_ROOM) -> str:
    """As many registered names as fit in `room` characters, then how many more: the banner stays one line."""
    shown: list[str] = []
    for name in names:
        if len(", ".join([*shown, name])) > room and shown:
            return ", ".join(shown) + f" +{len(names) - len(shown)} more"
        shown.append(name)
    return ", ".join(shown)


def _short(path: Path) -> str:
    cwd = Path.cwd()
    if path == cwd:
        return "./"
    return f"./{path.relative_to(cwd)}/" if path.is_relative_to(cwd) else str(path)


class DevBanner(Static):
    DEFAULT_CSS = """
    DevBanner { height: auto; max-height: 3; padding: 0 1; background: $boost; color: $text-muted; }
    DevBanner.starting { background: $warning-darken-2; color: $text; }
    DevBanner.error { background: $error; color: $text; }
    """

    def __init__(self, session: DevSession, **kwargs: object):
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.session = session
        self._shown: DevStatus | None | bool = False

    def on_mount(self) -> None:
        self.refresh_status()
        self.set_interval(POLL_SECONDS, self.refresh_status)

    def refresh_status(self) -> None:
        status = self.session.status()
        if status is self._shown:
            return
        self._shown = status
        css_class, text = describe(status, self.session.watched)
        self.set_classes(css_class)
        self.update(text)
