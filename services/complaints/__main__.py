"""`python -m services.complaints`: serves ComplaintService until SIGTERM/SIGINT."""

from services.complaints.bootstrap import build_app
from services.complaints.manifest import SERVICE
from shared.processes import serve
from shared.settings import get_settings

if __name__ == "__main__":
    serve(SERVICE, lambda: build_app(get_settings()), get_settings())
