"""Per-user blocks."""
