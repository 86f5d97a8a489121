"""Exercises, case data and workshop tools for the producer-associations book.

Pure models (``freeriding``, ``bargaining``, ``governance``) import no ipywidgets;
``widgets.views`` holds the thin ipywidgets front ends, ``widgets.workshop`` the
shared store for live sessions, and ``widgets.cases`` reads ``cases/``.
"""
