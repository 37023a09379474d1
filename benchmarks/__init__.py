"""Benchmarks: each ``bench_*.py`` module has a ``main()`` that prints its figures.

They are measurements, not tests: every figure comes with a ratio against a baseline
measured in the same run, because absolute times on shared machines mean little.
"""
