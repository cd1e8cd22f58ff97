"""Trust and safety: the moderation policy, its decisions and flags (SQL), live monitoring."""
