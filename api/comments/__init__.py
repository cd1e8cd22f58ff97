"""Comments and likes on posts."""
