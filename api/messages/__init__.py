"""Direct messages: one-to-one conversations with read state."""
