"""The web app: assembles every module's router and page panel into one FastAPI app."""

from pingan.web.app import create_app

__all__ = ["create_app"]
