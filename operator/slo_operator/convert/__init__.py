"""Pure translations from other SLO formats into our API models (OpenSLO v1 for now).

This layer sits above `rules` (it needs the burn-rate table to judge imported alert conditions,
and the complete manifest check) and below `backends`: converting reads and writes no files and
talks to no server; the CLI does the I/O.
"""
