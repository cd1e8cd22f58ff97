"""Feed: the pure ranking, its SQL and its route."""
