"""attnr.v1: the gRPC stubs, generated from proto/attnr/v1 at build time."""
