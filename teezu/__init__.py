"""TeezU Live shared plumbing: settings, logging, errors, database, the `teezu` CLI."""
