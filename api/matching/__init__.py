"""AI matching: the Erotic DNA quiz, compatibility, match suggestions, swipes and vibe search."""
