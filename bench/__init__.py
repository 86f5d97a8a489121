"""Bounded performance measurements: ``make bench`` prints one table and writes JSON."""
