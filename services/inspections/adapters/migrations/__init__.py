"""The inspections database's schema history (Alembic revisions; see shared/migrations.py). New revision:
`integrity db revision --service inspections -m "what changes"`, then review the file it writes."""
