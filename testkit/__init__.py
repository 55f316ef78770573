"""Test support: a real local control plane (``controlplane``) for tests, the demo and benchmarks.

Not imported by the operator itself; nothing in the layered packages depends on it.
"""
