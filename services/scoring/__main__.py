"""`python -m services.scoring` runs the scoring service until SIGTERM/SIGINT."""

from services.scoring.bootstrap import build_app
from services.scoring.manifest import SERVICE
from shared.processes import serve
from shared.settings import get_settings

if __name__ == "__main__":
    serve(SERVICE, lambda: build_app(get_settings()), get_settings())
