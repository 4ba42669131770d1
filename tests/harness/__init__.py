"""Test and ops harness: load, abuse, soak, browser helpers, synthetic runs, screenshots and
the debug invariants. Used by tests/ and the Makefile's long checks; the wheel does not ship it."""
