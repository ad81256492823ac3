"""ssh probe."""
