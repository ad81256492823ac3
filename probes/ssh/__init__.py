"""The SSH family: wire format, key exchange, policy table, gatherers and checks of ssh:// endpoints."""
