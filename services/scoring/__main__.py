"""`python -m services.scoring` runs the scoring service until SIGTERM/SIGINT."""

from services.scoring.bootstrap import build_app
from shared.grpc_server import run
from shared.settings import get_settings

if __name__ == "__main__":
    run(build_app(get_settings()), get_settings())
