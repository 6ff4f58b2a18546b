"""Progress bars: one look, on stderr, silent when disabled."""

from __future__ import annotations

import io

from rich.console import Console

from edgedrnn.support.progress import Bars


def test_bars_draw_description_count_and_info():
    buf = io.StringIO()
    with Bars(console=Console(file=buf, width=120, force_terminal=False)) as bars:
        task = bars.add("epochs", total=3)
        for _ in range(3):
            bars.update(task, info="loss 0.5")
        bars.print("a message")
    out = buf.getvalue()
    assert "epochs" in out and "3/3" in out and "loss 0.5" in out and "a message" in out


def test_disabled_bars_print_only_messages(capsys):
    with Bars(enabled=False) as bars:
        task = bars.add("work", total=None)
        bars.update(task)
        bars.remove(task)
        bars.print("still said")
    captured = capsys.readouterr()
    assert "work" not in captured.out + captured.err
    assert "still said" in captured.err
