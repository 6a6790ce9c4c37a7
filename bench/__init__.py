"""Benchmarks and the data generator behind ``make bench`` (see ``python -m bench --help``)."""
