"""Benchmarks of Credence: ``python -m bench.<name>``; results go to ``bench/results/``."""
