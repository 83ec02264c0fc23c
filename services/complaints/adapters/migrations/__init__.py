"""The complaints database's schema history (Alembic revisions; see shared/migrations.py). New revision:
`integrity db revision --service complaints -m "what changes"`, then review the file it writes."""
