"""Wagtail admin hooks. Each concern keeps its hooks in its own module, imported here so that
Wagtail (which loads only ``wagtail_hooks``) registers them."""

import importlib

for _module in ("cms.admin_documents", "cms.admin_governance"):
    try:
        importlib.import_module(_module)
    except ModuleNotFoundError as error:
        if error.name != _module:
            raise
