"""The scope rules of the authorization matrix (tests/integration/test_authorization_matrix.py): which
caller may act on which region's resources, whatever its role allows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message

from shared.auth import REGIONAL_ROLES, Role
from shared.regions import region_contains
from tests.integration.four_services import Profile, Target, World

Rule = Callable[[Profile, Target], bool]


def anyone(profile: Profile, target: Target) -> bool:
    return True


def in_region(profile: Profile, target: Target) -> bool:
    """The system; a regulator or inspector whose region holds the enterprise's; the enterprise itself."""
    if profile.role == Role.SYSTEM:
        return True
    if profile.role in REGIONAL_ROLES:
        return bool(profile.region and region_contains(profile.region, target.region))
    return profile.role == Role.ENTERPRISE and profile.uscc == target.uscc


def own(profile: Profile, target: Target) -> bool:
    """The system, or the enterprise itself."""
    return profile.role == Role.SYSTEM or (profile.role == Role.ENTERPRISE and profile.uscc == target.uscc)


def assigned(profile: Profile, target: Target) -> bool:
    """Only an inspector on the inspection's team."""
    return profile.role == Role.INSPECTOR and profile.subject in target.team


def inspection_reader(profile: Profile, target: Target) -> bool:
    """The system, a regulator of the inspection's region, and the inspectors assigned to it."""
    if profile.role == Role.INSPECTOR:
        return assigned(profile, target)
    return profile.role != Role.ENTERPRISE and in_region(profile, target)


def plan_reader(profile: Profile, target: Target) -> bool:
    """The region's system, regulators and inspectors, and the inspectors assigned to the plan."""
    return in_region(profile, target) or assigned(profile, target)


@dataclass(frozen=True)
class Scenario:
    rule: Rule
    request: Callable[[World, Target], Message]
    # For a List: the USCCs or regions of what it returned, each checked against the caller's scope.
    listed: Callable[[Any], list[Target | str]] | None = None
