"""Generated code of the gRPC interop protos (grpc.testing); see protos/generate.py."""
