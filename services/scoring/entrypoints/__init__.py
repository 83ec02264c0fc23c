"""Where calls come into scoring: the gRPC servicer, the event consumer's handler, the CLI commands."""
