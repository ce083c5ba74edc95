"""Kindling's benchmark harness (`make bench` → `bench/run.py` → `bench/RESULTS.md`).

Not part of the installed distribution and not imported by `kindling`: it measures the
suite from the outside, by running its commands as a user would (DESIGN §8).
"""
