"""The See page's parts: the unit view (one unit's arithmetic, sliding)."""
