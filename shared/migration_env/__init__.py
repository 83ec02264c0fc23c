"""Alembic's environment for every service database (`env.py`, loaded by Alembic, and the template of a new
revision). Each service keeps its own history in `services/<name>/adapters/migrations/`; see
shared/migrations.py."""
