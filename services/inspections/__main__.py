"""`python -m services.inspections`: serves InspectionService until SIGTERM/SIGINT."""

from services.inspections.bootstrap import build_app
from services.inspections.manifest import SERVICE
from shared.processes import serve
from shared.settings import get_settings

if __name__ == "__main__":
    serve(SERVICE, lambda: build_app(get_settings()), get_settings())
