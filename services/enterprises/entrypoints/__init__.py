"""Where calls reach the registry: the gRPC servicer."""
