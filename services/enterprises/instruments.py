"""Interim: the old module path, kept only for operations/history/ (legacy.py, validation.py, store.py);
delete this file when the integrator deletes those."""

from services.enterprises.domain.instruments import *  # noqa: F403
