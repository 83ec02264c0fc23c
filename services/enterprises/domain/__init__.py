"""The registry's rules and values: what a valid registration, instrument, verification and declaration is.

Pure: no gRPC, SQL or Kafka (the enums are those of `integrity.enterprises.v1`, the one source of truth).
"""

# Interim: what operations/history/ (validation.py, store.py) imports from the old `domain.py`; delete these
# lines when the integrator deletes those files.
from services.enterprises.domain.enterprise import (
    ACTIVE,
    RESOURCE_PREFIX,
    STATUSES,
    Enterprise,
    compute_etag,
    enterprise_name,
    register,
    validate_registration,
)
from services.enterprises.domain.values import CHINA_STANDARD_TIME, china_today

__all__ = [
    "ACTIVE",
    "CHINA_STANDARD_TIME",
    "RESOURCE_PREFIX",
    "STATUSES",
    "Enterprise",
    "china_today",
    "compute_etag",
    "enterprise_name",
    "register",
    "validate_registration",
]
