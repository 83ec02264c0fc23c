"""The scoring database's schema history (Alembic revisions; see shared/migrations.py). New revision:
`integrity db revision --service scoring -m "what changes"`, then review the file it writes."""
