"""Compiles a BERT-like checkpoint into the graphs and files that bahe-stream runs (docs/model-format.md)."""

TOOL_VERSION = "0.1.0"
