"""Run functions that wire data -> model -> evaluation -> export.

Each takes a frozen config and returns a result with paths and metrics, with no
hidden globals, so each can become a TFX-style component later without a rewrite.
"""
