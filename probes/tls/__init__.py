"""tls probe."""
