"""`python -m services.enterprises`: serves the enterprise registry until SIGTERM/SIGINT."""

from services.enterprises.bootstrap import build_app
from services.enterprises.manifest import SERVICE
from shared.processes import serve
from shared.settings import get_settings

if __name__ == "__main__":
    serve(SERVICE, lambda: build_app(get_settings()), get_settings())
