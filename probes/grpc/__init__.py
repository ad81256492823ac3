"""grpc probe."""
