"""NO_COLOR: the cockpit keeps no hue (Textual turns colours to greys) and its two chart lines stay
apart by their marks instead of their colours."""

from __future__ import annotations

import re

import pytest

from tests.test_app_support import demo_app, open_cockpit, screen_text

HEX = re.compile(r"#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})\b")


def _hues(svg: str) -> set[str]:
    """Colours in the screenshot whose red, green and blue differ (anything but a grey)."""
    return {m.group(0) for m in HEX.finditer(svg) if len({m.group(1), m.group(2), m.group(3)}) > 1}


async def test_no_color_draws_greys_and_tells_the_lines_apart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    demo, app = demo_app("bad-canary", ticks=6)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_cockpit(pilot)
        assert app.no_color
        text = screen_text(app)
        assert "• canary" in text and "⣀ base" in text
        assert "•" in text.split("p99 latency", 1)[1]  # the canary line itself is drawn in bullets
        svg = app.export_screenshot()
        # Rich's SVG frame (window buttons) has its own colours: look at the terminal's cells.
        body = svg.split('<g class="terminal-', 1)[0]
        styles = "\n".join(re.findall(r"\.terminal-\d+-r\d+ \{[^}]*\}", body))
        # #c5c8c6 is the SVG terminal theme's default foreground (a terminal's own 39m).
        assert styles and _hues(styles) - {"#c5c8c6"} == set()


async def test_with_colour_the_lines_are_both_braille(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    demo, app = demo_app("bad-canary", ticks=6)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_cockpit(pilot)
        text = screen_text(app)
        assert "━ canary" in text and "•" not in text
