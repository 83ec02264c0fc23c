"""Interim: the old module path, kept only for operations/history/ (legacy.py, validation.py, store.py);
delete this file when the integrator deletes those."""

from services.enterprises.adapters.unit_of_work import *  # noqa: F403
