"""Chat: rooms per stream over Socket.IO, history in PostgreSQL, moderation."""
