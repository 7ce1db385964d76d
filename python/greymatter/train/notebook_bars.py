"""Progress bars inside a Jupyter kernel, drawn through IPython's display machinery (never stderr).

Each bar first displays a text line with a display id; that line is what stays. While the loop
runs, either the line itself is redrawn in place (text), or a widget is shown instead (below the
empty line; ipywidgets 6 in the classic Notebook puts it in the cell's widget area): an IntProgress
between two HTML labels in an HBox, widgets every ipywidgets since 6.0 has (tqdm's own notebook bar
sets attributes 6.0 lacks). When the loop ends the widget is closed and the line gets
the bar's final state (or is emptied, for a bar that does not stay), so a saved notebook reads the
same without widget state. The text comes from tqdm's format_meter, as in a terminal.

Nothing here raises into training: a widget that fails falls back to the text line, a display
that fails leaves the bar silent."""
import html
import time
from typing import Optional

from IPython.display import display
from tqdm.std import tqdm

EMPTY = {"text/plain": ""}
REDRAW_EVERY_S = 0.2  # updates in between only move the counter


def widgets_work() -> bool:
    """Whether ipywidgets can draw in this kernel's front end."""
    try:
        import ipywidgets
    except Exception:  # absent, or broken in a way only importing it shows
        return False
    if not all(hasattr(ipywidgets, name) for name in ("HBox", "HTML", "IntProgress", "Widget")):
        return False
    # ipywidgets 6 asks the front end for its JavaScript's version when the kernel connects (when
    # ipywidgets is loaded by then; greymatter's kernelspec loads it). Until the front end has
    # answered, a displayed widget shows only "Widget Javascript not detected": nbclient and
    # servers without the extension never answer. Later versions have no such handshake.
    return getattr(ipywidgets.Widget, "_version_validated", True) is True


def notebook_bar(total: Optional[int], desc: str, leave: bool, unit: str):
    try:
        return NotebookBar(total, desc, leave, unit, widgets=total is not None and widgets_work())
    except Exception:
        return tqdm(total=total, disable=True)  # not even a text line can be shown


class WidgetView:
    """The widget form of a bar: [desc: 45%] [=====     ] [38/85 [00:03<00:03, ...]]."""

    def __init__(self, total: int) -> None:
        import ipywidgets

        self.left = ipywidgets.HTML(value="")
        self.progress = ipywidgets.IntProgress(value=0, min=0, max=max(total, 1))
        self.right = ipywidgets.HTML(value="")
        self.box = ipywidgets.HBox(children=[self.left, self.progress, self.right])

    def show(self) -> None:
        display(self.box)

    def draw(self, n: int, left: str, right: str) -> None:
        self.progress.value = min(n, self.progress.max)
        self.left.value = html.escape(left)
        self.right.value = html.escape(right)

    def close(self) -> None:
        for widget in (self.box, self.left, self.progress, self.right):
            widget.close()


class NotebookBar:
    """tqdm's methods the Trainer and sweeps use: update(n), n, set_postfix(**values), close()."""

    def __init__(
        self, total: Optional[int], desc: str, leave: bool, unit: str, widgets: bool
    ) -> None:
        self.total, self.desc, self.leave, self.unit = total, desc, leave, unit
        self.n = 0
        self.postfix = ""
        self.start = time.monotonic()
        self.drawn_at = 0.0
        self.closed = False
        self.line = display(EMPTY if widgets else self._text(), raw=True, display_id=True)
        self.widget: Optional[WidgetView] = None
        if widgets:
            try:
                self.widget = WidgetView(total)
                self.widget.show()
            except Exception:
                self._drop_widget()
        self.refresh()

    def update(self, n: int = 1) -> None:
        self.n += n
        if time.monotonic() - self.drawn_at >= REDRAW_EVERY_S or self.n == self.total:
            self.refresh()

    def set_postfix(self, refresh: bool = True, **values) -> None:
        self.postfix = ", ".join(f"{key}={value}" for key, value in values.items())
        if refresh:
            self.refresh()

    def refresh(self) -> None:
        self.drawn_at = time.monotonic()
        if self.widget is not None:
            try:
                left, _, right = self._meter("{l_bar}<bar/>{r_bar}").partition("<bar/>")
                self.widget.draw(self.n, left.rstrip("|"), right.lstrip("|").strip())
                return
            except Exception:
                self._drop_widget()
        self._show(self._text())

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.widget is not None:
            try:
                self.widget.close()
            except Exception:
                pass
            self.widget = None
        self._show(self._text() if self.leave else EMPTY)

    def _drop_widget(self) -> None:
        widget, self.widget = self.widget, None
        try:
            if widget is not None:
                widget.close()
        except Exception:
            pass

    def _show(self, bundle) -> None:
        if self.line is None:
            return
        try:
            self.line.update(bundle, raw=True)
        except Exception:
            self.line = None  # the front end is gone; training goes on without a bar

    def _meter(self, bar_format: Optional[str] = None) -> str:
        return tqdm.format_meter(
            self.n,
            self.total,
            time.monotonic() - self.start,
            prefix=self.desc,
            unit=self.unit,
            postfix=self.postfix or None,
            bar_format=bar_format,
        )

    def _text(self):
        return {"text/plain": self._meter()}
