"""The console's declaration agrees with the services it calls, and the stack starts it."""

from __future__ import annotations

from console.manifest import CONSOLE
from console.settings import ConsoleSettings
from operations import catalogue
from shared.settings import Settings


def test_the_console_calls_every_service_on_its_own_default_port() -> None:
    assert dict(CONSOLE.upstreams) == {s.name: s.default_port for s in catalogue.SERVICES}
    assert CONSOLE in catalogue.WEB and CONSOLE.default_port == 8080


def test_service_addresses_follow_the_stack_ports_or_an_explicit_address() -> None:
    platform = Settings(scoring_port=61054, host="0.0.0.0")
    console = ConsoleSettings(enterprises_address="enterprises.integrity.svc:50051")
    assert console.address(platform, "scoring") == "127.0.0.1:61054"  # bound everywhere, called locally
    assert console.address(platform, "complaints") == "127.0.0.1:50052"
    assert console.address(platform, "enterprises") == "enterprises.integrity.svc:50051"
