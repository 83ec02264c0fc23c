"""What callers can do with scoring, each in the unit of work it is given (use_cases/unit_of_work.py):
ingest an event, read grades and risk lists, appeal and decide appeals, grant credit repairs, recompute."""
