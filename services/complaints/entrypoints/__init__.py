"""Where calls come into the complaints service: the gRPC servicer."""
