"""Themes: a Textual colour theme plus the pane rules in ``themes/<name>.tcss``.

The config names the theme (``[ui] theme = "dark"``); the palette switches it
at run time. Each ``.tcss`` scopes its rules with ``App.theme-<name>`` so all
three files load once and switching is one class change, no CSS reparse.
"""

from __future__ import annotations

from pathlib import Path

from textual.theme import Theme

THEMES_DIR = Path(__file__).resolve().parents[2] / "themes"
THEME_NAMES = ("dark", "light", "high-contrast")

TEXTUAL_THEMES: dict[str, Theme] = {
    "dark": Theme(
        name="tui-pacs-dark", primary="#3d6b99", secondary="#5a8fc2", accent="#e0a040",
        foreground="#dce6f0", background="#0f141b", surface="#16202b", panel="#1c2836",
        success="#6cc070", warning="#e0a040", error="#e0605a", dark=True,
    ),
    "light": Theme(
        name="tui-pacs-light", primary="#2f6aa3", secondary="#3f7fbf", accent="#b36b00",
        foreground="#1b2430", background="#f6f7f9", surface="#ffffff", panel="#e6ebf1",
        success="#1e7a2a", warning="#8a5a00", error="#b3261e", dark=False,
    ),
    "high-contrast": Theme(
        name="tui-pacs-high-contrast", primary="#ffffff", secondary="#ffff00", accent="#ffff00",
        foreground="#ffffff", background="#000000", surface="#000000", panel="#000000",
        success="#00ff00", warning="#ffff00", error="#ff4040", boost="#ffffff", dark=True,
    ),
}


def theme_css_paths() -> list[str]:
    """The theme stylesheets that exist (an installed wheel without themes/ still runs)."""
    return [str(THEMES_DIR / f"{name}.tcss") for name in THEME_NAMES if (THEMES_DIR / f"{name}.tcss").exists()]
