"""Voilà for the workshop, with its page templates compiled once instead of for every page.

Voilà renders each page, and each warm kernel it keeps in its pool, with a new Jinja
environment, so it parses and compiles the same page templates every time: about a third
of a second of the server's only thread per page. When the pool refills after a room of
forty has joined, that adds up to seconds in which no decision reaches the projector.
Jinja's bytecode cache keeps the compiled templates (checked against their source), so
every environment after the first loads them ready-made.

Run as ``python -m widgets.workshop.voila_app`` with Voilà's own arguments.
"""
from __future__ import annotations

import sys

import jinja2
from voila import exporter
from voila.app import main


class CompiledTemplates(jinja2.BytecodeCache):
    """Compiled templates kept in this process's memory (the key covers the source)."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = CompiledTemplates()


class WorkshopExporter(exporter.VoilaExporter):
    def _create_environment(self) -> jinja2.Environment:
        environment = super()._create_environment()
        environment.bytecode_cache = COMPILED_TEMPLATES
        return environment


def use_compiled_templates() -> None:
    """Make Voilà's page renderer build its pages with ``WorkshopExporter``."""
    from voila import notebook_renderer

    notebook_renderer.VoilaExporter = WorkshopExporter


if __name__ == "__main__":
    use_compiled_templates()
    sys.exit(main())
