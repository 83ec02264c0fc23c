"""The complaints service: the public and partner systems file complaints about an enterprise's metrology
(short weight, cheating instruments, ...); regulators of the enterprise's region accept or reject them,
investigate and resolve them within deadlines, and the decisions become events that scoring and inspections
consume. The complainant's contact never leaves the service."""
