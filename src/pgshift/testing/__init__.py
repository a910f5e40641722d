"""Test helpers for projects that use pgshift (and for pgshift's own tests)."""
