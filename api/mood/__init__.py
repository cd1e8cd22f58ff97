"""Mood analysis: the one mood pipeline of chat (per message, per room per minute, per member)."""
