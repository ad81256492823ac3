"""The gRPC family: channel, gatherer and checks of grpc:// and grpcs:// endpoints, and the interop cases."""
