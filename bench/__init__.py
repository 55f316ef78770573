"""Benchmarks against Sloth, Pyrra and slo-generator: `make bench` rewrites docs/benchmarks.md."""
