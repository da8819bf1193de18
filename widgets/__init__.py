"""Textual widgets of monotui; they import textual, textual_plotext and monotui.model only."""
