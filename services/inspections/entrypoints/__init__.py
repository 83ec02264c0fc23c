"""Where calls come into the inspections service: the gRPC servicer, the consumer of other services'
events, the overdue-rectification worker and the `integrity plan` command."""
