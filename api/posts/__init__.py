"""Posts: a creator's images and short videos, published only after the moderation scan."""
