"""Thin ipywidgets front ends over the exercise models, one module per exercise family."""
