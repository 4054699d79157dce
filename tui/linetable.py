"""A table drawn through Textual's line API from a plain list of rows: a burst costs the lines that changed.

Why not a DataTable for a live list: a DataTable (Textual 8.2.8, pinned) renders every cell of every line it
repaints through rich's console (Padding, Styled, three component styles: ~2.5 ms a row), its caches are keyed
by row key and an update counter, and a window whose rows shift (arrivals at the top) changes every row.
Under a 1,500 commits/s burst (`bench/tui_latency.py --stall-only`) 52-60 % of the UI loop's time went into
its frames, single frames taking 80-170 ms of the loop's own CPU.

Here:
- `show_rows` compares each row's look with the one on screen and marks only the lines that differ as dirty
  (`Widget.refresh(region)`); Textual keeps every other line as it drew it and asks `render_line` only for
  the dirty ones. A re-read that changed nothing (the counts moved, the window did not) draws nothing.
- a line is assembled from cells drawn and styled once per (look, width, style) and kept in a small cache
  (`Recent`): a value pushed down a row by an arrival, a status or a name seen before costs a dict look-up.
  A line of cached cells takes ~40 µs, a line of new ones ~100 µs (a DataTable: ~2.5 ms).
- no style meta names a row, so a cell drawn on one row is valid on any row (clicks read `event.y`).
- what it says while it has no rows (`set_placeholder`) is drawn in its own lines, not by a widget shown in its
  place: the first rows of a burst then repaint the table without a layout of the screen (~13 ms of the UI loop).

It draws exactly what a DataTable with `cursor_type="row"` draws (its component classes renamed, its CSS,
the same segments apart from the row in the style meta): `tests/unit/test_line_table.py` compares them.
Cells are plain text, never markup (a DataTable would read "[b]" in a workflow id as bold).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from rich.cells import cell_len
from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets.data_table import RowKey

K = TypeVar("K")
V = TypeVar("V")

PADDING = 1
"""Cells of padding on each side of a cell, as a DataTable's `cell_padding`."""
PLACEHOLDER_MARGIN = (2, 4)
"""Blank lines above and below, and cells left and right, that the placeholder keeps from the table's edges."""


@dataclass(frozen=True)
class TableColumn:
    key: str
    label: str
    width: int
    """The content's width; the column takes `width + 2 * PADDING` cells."""


def look(value: object) -> Hashable:
    """What a cell looks like, as a hashable key: two cells with the same look draw the same segments."""
    if isinstance(value, Text):
        return ("text", value.plain, tuple(value.spans), value.style, value.justify, value.overflow, value.no_wrap)
    if isinstance(value, str):
        return value
    return ("other", "" if value is None else str(value))


@functools.lru_cache(maxsize=64)
def column_meta(column: int) -> Style:
    """The style meta of a column's cells: keeps neighbouring cells apart as segments, as in a DataTable."""
    return Style.from_meta({"column": column})


OUT_OF_BOUNDS = Style.from_meta({"out_of_bounds": True})


def renderable(value: object) -> Text:
    """A cell as a DataTable formats it for a one-line row (plain text: a workflow id is never markup)."""
    if isinstance(value, Text):
        return value
    return Text("" if value is None else str(value), no_wrap=True, end="")


def cell_segments(value: object, width: int, app: App[Any]) -> list[Segment]:
    """A cell's segments at `width` (padding included), unstyled: what rich draws for a DataTable's cell
    (`Padding(cell, (0, 1))` at that width, one line, no wrap). A one-line text that fits, the usual cell,
    is drawn directly (its own segments between the paddings, ~20 times cheaper); anything else goes
    through rich."""
    text = renderable(value)
    plain = text.plain
    inner = width - 2 * PADDING
    length = cell_len(plain)
    if length > inner or "\n" in plain or "\t" in plain or text.justify not in (None, "default", "left"):
        options = app.console_options.update_dimensions(width, 1).update(no_wrap=True)
        lines = app.console.render_lines(Padding(text, (0, PADDING)), options)
        return lines[0] if lines else [Segment(" " * width)]
    if text.style:  # as rich renders a Text: its style becomes a span under its own spans
        text = Text().join([text])
    segments = [Segment(" " * PADDING)]
    segments.extend(s for s in text.render(app.console, end="") if s.text)
    segments.append(Segment(" " * (inner - length + PADDING)))
    return segments


class Recent(Generic[K, V]):
    """A cache of what was used recently, in two generations of plain dicts: a look-up costs one or two dict
    look-ups (Textual's LRUCache moves a link on every hit: ~5x slower here); when the young generation holds
    `size` entries it becomes the old one and the old one is dropped. What a frame uses is kept, what no
    frame used for a while goes, in one step."""

    def __init__(self, size: int):
        self.size = size
        self.young: dict[K, V] = {}
        self.old: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        value = self.young.get(key)
        if value is None:
            value = self.old.get(key)
            if value is not None:
                self[key] = value
        return value

    def __setitem__(self, key: K, value: V) -> None:
        if len(self.young) >= self.size:
            self.old, self.young = self.young, {}
        self.young[key] = value

    def __len__(self) -> int:
        return len(self.young.keys() | self.old.keys())

    def clear(self) -> None:
        self.young, self.old = {}, {}


@dataclass(frozen=True)
class RowKind:
    """How a line of one row style and component (hover, cursor) is styled, as a DataTable styles it."""

    pres: list[tuple[Style, int]]
    """Each column's style under its cells, and its slot: a number no other (column, width, styles) is given, so
    a styled cell is cached by (look, slot) and its key hashes no style."""
    post: Style
    """Over the cells' own styles: the component's colour."""
    rest: Style
    """The rest of the line, past the last column."""


class RowMessage(Message):
    """A row of a LineTable, by its position: what the cursor's messages carry."""

    def __init__(self, table: LineTable, cursor_row: int):
        super().__init__()
        self.table = table
        self.cursor_row = cursor_row

    @property
    def control(self) -> LineTable:
        return self.table


class LineTable(Widget, can_focus=True):
    """Rows of cells (`str` or rich `Text`) under a header, a row cursor, zebra stripes; no scrolling (the
    owner shows a window of its list: see `tui.widgets.WindowTable`)."""

    ALLOW_SELECT = False
    CELL_CACHE = 512
    """Styled cells kept (up to twice this): a window of 40 rows × 8 columns in both zebra parities. Kept small:
    every entry is objects the cyclic collector walks at each full collection (a stall of the UI loop), and
    a burst's cells (new ids, new times) are mostly never drawn again."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Select", show=False),
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "linetable--cursor",
        "linetable--hover",
        "linetable--header",
        "linetable--odd-row",
        "linetable--even-row",
        "linetable--placeholder",
    }

    # DataTable's own rules (Textual 8.2.8), for the components this table has: the same look.
    DEFAULT_CSS = """
    LineTable {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;

        &:focus {
            background-tint: $foreground 5%;
            & > .linetable--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .linetable--header {
                background-tint: $foreground 5%;
            }
        }
        &:dark {
            & > .linetable--even-row {
                background: $surface-darken-1 40%;
            }
        }
        & > .linetable--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .linetable--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .linetable--odd-row {
        }
        & > .linetable--even-row {
            background: $surface-lighten-1 50%;
        }
        & > .linetable--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .linetable--hover {
            background: $block-hover-background;
        }
        & > .linetable--placeholder {
            color: $text-muted;
        }
    }
    """

    class RowHighlighted(RowMessage):
        """The cursor moved to `cursor_row`."""

    class RowSelected(RowMessage):
        """Enter (or a click on the cursor's row) chose the row at `cursor_row`."""

    show_header = True
    header_height = 1
    show_cursor = True

    def __init__(self, *, zebra_stripes: bool = True, **kwargs: Any):
        super().__init__(**kwargs)
        self.zebra_stripes = zebra_stripes
        self.columns: list[TableColumn] = []
        self._rows: list[list[object]] = []
        self._looks: list[tuple[Hashable, ...]] = []
        self._cursor = 0
        self._hover: int | None = None
        self._pseudo: Hashable = None
        self._header_line: tuple[Hashable, Strip] | None = None
        self._styled: Recent[tuple[Hashable, int], list[Segment]] = Recent(self.CELL_CACHE)
        """Styled cells by (look, slot): the slot is the number of a column under one row style and component."""
        self._slots = itertools.count()
        self._base: Style | None = None
        self._styles: dict[Hashable, dict[str, Style]] = {}
        self._kinds: dict[tuple[Style, Style], RowKind] = {}
        """How a line of each row style and component (hover, cursor) is styled (see `RowKind`)."""
        self._row_kinds: dict[Hashable, RowKind] = {}
        """The same by what decides a row's styles (pseudo-classes, base style, parity, cursor, hover): a line looks
        its styles up with one hash of a style, not ~30 (rich hashes and adds styles in Python: a tenth of a
        burst's frames went into it)."""
        self._placeholder: Text | None = None
        self._placeholder_lines: tuple[Hashable, list[Strip]] | None = None
        self.lines_drawn = 0
        """Data lines drawn since the table was made (Textual asks only for the lines marked dirty): what
        tests and benchmarks read."""

    # data ------------------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._rows)

    @property
    def cursor_row(self) -> int:
        return self._cursor

    def set_columns(self, columns: Sequence[TableColumn]) -> None:
        """Show these columns (every line is drawn again)."""
        self.columns = list(columns)
        self._header_line = None
        self._kinds.clear()
        self._row_kinds.clear()
        self.refresh()

    def set_placeholder(self, text: Text | None) -> None:
        """What the table says, centred in its area and without its header, while it has no rows (None: the
        header alone). A change repaints the table when it shows no rows; nothing is laid out again."""
        if (None if text is None else look(text)) == (None if self._placeholder is None else look(self._placeholder)):
            return
        self._placeholder = text
        self._placeholder_lines = None
        if not self._rows:
            self.refresh()

    @property
    def placeholder_shown(self) -> bool:
        return self._placeholder is not None and not self._rows

    def show_rows(self, rows: Sequence[Sequence[object]], cursor: int | None = None) -> int:
        """Show `rows` (cells in column order); only the lines whose look changed are repainted. The cursor
        stays on its line (clamped to the rows) unless `cursor` (a row index) is given. Returns the number
        of data lines marked for repaint."""
        new_looks = [tuple(look(c) for c in row) for row in rows]
        old_looks, old_cursor, placeholder = self._looks, self._cursor, self.placeholder_shown
        self._rows = [list(row) for row in rows]
        self._looks = new_looks
        if placeholder != self.placeholder_shown:
            self.refresh()  # the placeholder's lines, the header's: the whole table, and still no layout
        dirty = [i for i, key in enumerate(new_looks) if i >= len(old_looks) or old_looks[i] != key]
        dirty += range(len(new_looks), len(old_looks))  # lines that lost their row
        if len(new_looks) != len(old_looks) and self.styles.height is not None and self.styles.height.is_auto:
            self.refresh(layout=True)  # as tall as its rows
        target = old_cursor if cursor is None else cursor
        self._cursor = max(0, min(target, len(rows) - 1))
        if self._cursor != old_cursor:
            dirty += [old_cursor, self._cursor]
            self._highlighted()
        self._refresh_rows(dirty)
        return len(set(dirty))

    def update_cells(self, changes: Iterable[tuple[int | str, str, object]]) -> int:
        """Put (row index, column key, value) into the table, repainting only the rows whose cells changed;
        the number of rows repainted. Unknown rows or columns are skipped (a tick may race a reload)."""
        index = {c.key: i for i, c in enumerate(self.columns)}
        dirty: set[int] = set()
        for row, column, value in changes:
            r, c = int(row), index.get(column)
            if c is None or not 0 <= r < len(self._rows) or c >= len(self._rows[r]):
                continue
            new = look(value)
            if self._looks[r][c] == new:
                continue
            self._rows[r][c] = value
            self._looks[r] = self._looks[r][:c] + (new,) + self._looks[r][c + 1 :]
            dirty.add(r)
        self._refresh_rows(dirty)
        return len(dirty)

    def get_cell(self, row: int | str, column: str) -> object:
        """The value shown at row index `row` in `column` (KeyError when there is none)."""
        r = int(row)
        at = next((i for i, c in enumerate(self.columns) if c.key == column), None)
        if at is None or not 0 <= r < len(self._rows):
            raise KeyError((row, column))
        return self._rows[r][at]

    def get_row(self, row: int | str) -> list[object]:
        return list(self._rows[int(row)])

    @property
    def rows(self) -> list[RowKey]:
        """The rows' keys as a DataTable gives them (`.value`): their positions, "0", "1", ..."""
        return [RowKey(str(i)) for i in range(len(self._rows))]

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return (self.header_height if self.show_header else 0) + len(self._rows)

    # cursor ----------------------------------------------------------------------------------------

    def move_cursor(self, *, row: int | None = None, animate: bool = False) -> None:
        """Put the cursor on `row` (clamped to the rows). `animate` is accepted as a DataTable takes it."""
        if row is None:
            return
        row = max(0, min(row, len(self._rows) - 1))
        if row != self._cursor:
            old, self._cursor = self._cursor, row
            self._refresh_rows([old, row])
            self._highlighted()

    def _highlighted(self) -> None:
        if self._cursor < len(self._rows):
            self.post_message(self.RowHighlighted(self, self._cursor))

    def action_cursor_up(self) -> None:
        self._set_hover(None)
        self.move_cursor(row=self._cursor - 1)

    def action_cursor_down(self) -> None:
        self._set_hover(None)
        self.move_cursor(row=self._cursor + 1)

    def action_page_up(self) -> None:
        self._set_hover(None)
        self.move_cursor(row=self._cursor - max(1, self.size.height - self.header_height))

    def action_page_down(self) -> None:
        self._set_hover(None)
        self.move_cursor(row=self._cursor + max(1, self.size.height - self.header_height))

    def action_select_cursor(self) -> None:
        self._set_hover(None)
        if self._rows:
            self.post_message(self.RowSelected(self, self._cursor))

    def _row_at(self, event: events.MouseEvent) -> int | None:
        offset = event.get_content_offset(self)
        if offset is None:
            return None
        row = offset.y - (self.header_height if self.show_header else 0)
        return row if 0 <= row < len(self._rows) else None

    async def _on_click(self, event: events.Click) -> None:
        row = self._row_at(event)
        if row is None:
            return
        self._set_hover(row)
        chosen_again = row == self._cursor
        self.move_cursor(row=row)
        if chosen_again:
            self.post_message(self.RowSelected(self, row))
        event.stop()

    def _on_mouse_move(self, event: events.MouseMove) -> None:
        self._set_hover(self._row_at(event))

    def _on_leave(self, _: events.Leave) -> None:
        self._set_hover(None)

    def _set_hover(self, row: int | None) -> None:
        if row != self._hover:
            old, self._hover = self._hover, row
            self._refresh_rows([r for r in (old, row) if r is not None])

    # drawing ---------------------------------------------------------------------------------------

    def _refresh_rows(self, rows: Iterable[int]) -> None:
        """Mark the lines of these rows dirty: only they are rendered again at the next frame."""
        width = self.size.width
        if not width:
            self.refresh()
            return
        top = self.header_height if self.show_header else 0
        lines = sorted({top + r for r in rows if r >= 0})
        regions: list[Region] = []
        for y in lines:  # contiguous lines in one region
            if regions and regions[-1].bottom == y:
                last = regions.pop()
                regions.append(Region(0, last.y, width, last.height + 1))
            else:
                regions.append(Region(0, y, width, 1))
        if regions:
            self.refresh(*regions)

    def notify_style_update(self) -> None:
        self._placeholder_lines = None
        self._styles.clear()
        self._kinds.clear()
        self._row_kinds.clear()
        self._header_line = None
        self._styled.clear()
        self._base = None
        super().notify_style_update()

    def render_lines(self, crop: Region) -> list[Strip]:
        self._pseudo = self.get_pseudo_class_state()
        self._base = self.rich_style  # (computed once a frame: it walks the styles of every ancestor)
        return super().render_lines(crop)

    def _style(self) -> dict[str, Style]:
        """The component styles in the current pseudo-class state (focus changes the cursor's)."""
        styles = self._styles.get(self._pseudo)
        if styles is None:
            get = self.get_component_rich_style
            styles = self._styles[self._pseudo] = {
                name: get(f"linetable--{name}")
                for name in ("header", "even-row", "odd-row", "cursor", "hover", "placeholder")
            }
        return styles

    def render_line(self, y: int) -> Strip:
        """Line `y`: Textual asks only for lines marked dirty (or all, after a resize or a style change).
        A line is built from cells styled once per look and style, not through rich's console: ~40 µs."""
        width = self.size.width
        top = self.header_height if self.show_header else 0
        base = self._base or self.rich_style
        if self._placeholder is not None and not self._rows:
            drawn_for = (width, self.size.height, base, self._pseudo)
            if self._placeholder_lines is None or self._placeholder_lines[0] != drawn_for:
                strips = self._placeholder_strips(self._placeholder, width, self.size.height, base)
                self._placeholder_lines = (drawn_for, strips)
            lines = self._placeholder_lines[1]
            return lines[y] if y < len(lines) else Strip.blank(width, base)
        if y < top:
            key = (width, base, self._pseudo)
            if self._header_line is None or self._header_line[0] != key:
                self._header_line = (key, self._header(width))
            return self._header_line[1]
        index = y - top
        if index >= len(self._rows):
            return Strip.blank(width, base)
        self.lines_drawn += 1
        parity = index % 2 if self.zebra_stripes else -1
        return self._row(index, parity, index == self._cursor and self.show_cursor, index == self._hover, width, base)

    def _placeholder_strips(self, text: Text, width: int, height: int, base: Style) -> list[Strip]:
        """The placeholder's lines from the top of the table: its text wrapped to the width inside the margins,
        left-aligned in a block that is centred both ways (as a Static with `content-align: center middle`)."""
        top, side = PLACEHOLDER_MARGIN
        room = max(1, width - 2 * side)
        console = self.app.console
        options = console.options.update_width(room)
        style = base + self._style()["placeholder"]
        lines = console.render_lines(text, options, style=style, pad=False)
        block = max((Segment.get_line_length(line) for line in lines), default=0)
        left = side + max(0, room - block) // 2
        above = top + max(0, height - 2 * top - len(lines)) // 2
        strips = [Strip.blank(width, base)] * above
        for line in lines:
            right = max(0, width - left - Segment.get_line_length(line))
            segments = [Segment(" " * left, base), *line, Segment(" " * right, base)]
            strips.append(Strip(segments).crop(0, width).simplify())
        return strips

    def _cell(self, value: object, key: Hashable, width: int, pre: Style, slot: int, post: Style) -> list[Segment]:
        """A cell's segments at `width` (padding included) styled as a DataTable styles them (`pre` under
        the cell's own styles, `post` over them), once per look and slot (`slot` stands for the width and styles)."""
        cache_key = (key, slot)
        segments = self._styled.get(cache_key)
        if segments is None:
            plain = cell_segments(value, width, self.app)
            segments = self._styled[cache_key] = list(Segment.simplify(Segment.apply_style(plain, pre, post)))
        return segments

    def _kind(self, row_style: Style, component: Style) -> RowKind:
        """The styles of a line of `row_style` under `component`, made once (with new slots: its cells are cached
        apart from those of any other styles, or of the columns before `set_columns`)."""
        kind = self._kinds.get((row_style, component))
        if kind is None:
            pres = [(row_style + column_meta(i) + component, next(self._slots)) for i in range(len(self.columns))]
            post = Style.from_color(color=component.color)  # the cursor's colour wins over the cell's (as "css")
            kind = self._kinds[(row_style, component)] = RowKind(pres, post, row_style + component + OUT_OF_BOUNDS)
        return kind

    def _segments(self, values: Sequence[object], looks: Sequence[Hashable], kind: RowKind, width: int) -> Strip:
        """A DataTable's line: each cell padded and styled (the row's style, the column in the meta so that
        neighbouring cells stay separate segments, the cursor's), then the rest of the width. Each cell is
        already simplified, and no two neighbours share a style: the line is as `Strip.simplify` makes it."""
        segments: list[Segment] = []
        used = 0
        pres, post = kind.pres, kind.post
        for column_index, column in enumerate(self.columns[: len(values)]):
            cell_width = column.width + 2 * PADDING
            pre, slot = pres[column_index]
            cell = self._cell(values[column_index], looks[column_index], cell_width, pre, slot, post)
            segments.extend(cell)
            used += cell_width
        if used <= width:
            segments.append(Segment(" " * (width - used), kind.rest))
            return Strip(segments, width)
        return Strip(segments, used).crop(0, width).simplify()

    def _header(self, width: int) -> Strip:
        labels = [Text.from_markup(c.label) for c in self.columns]
        looks = [look(label) for label in labels]
        return self._segments(labels, looks, self._kind(self._style()["header"], Style()), width)

    def _row(self, index: int, parity: int, cursor: bool, hover: bool, width: int, base: Style) -> Strip:
        key = (self._pseudo, base, parity, cursor, hover)
        kind = self._row_kinds.get(key)
        if kind is None:
            styles = self._style()
            row_style = base if parity < 0 else styles["odd-row" if parity else "even-row"]
            component = Style()
            if hover:
                component += styles["hover"]
            if cursor:
                component += styles["cursor"]
            kind = self._row_kinds[key] = self._kind(row_style, component)
        return self._segments(self._rows[index], self._looks[index], kind, width)
