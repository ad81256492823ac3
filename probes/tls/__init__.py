"""The TLS family: handshake, certificate, gatherer and checks of the TLS under grpcs:// endpoints."""
