"""The versioned JSON API (django-ninja, a Wagtail dependency). Its OpenAPI schema is served
at /api/v1/openapi.json. Each app contributes a router from its own ``api.py``."""

from ninja import NinjaAPI
from ninja.security import SessionAuth

api = NinjaAPI(title="Enablement Library API", version="1", urls_namespace="api-v1")


def register_routers() -> None:
    """Attach every app's router; apps add theirs here as they grow one."""
    import importlib

    for module_name in ("search.api", "analytics.api"):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        api.add_router(module.PREFIX, module.router)


register_routers()

__all__ = ["api", "SessionAuth"]
