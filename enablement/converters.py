"""Path converters the apps' URLs share, registered once per process when this module is first
imported (``enablement.urls`` imports it before the apps' URLs)."""

from django.urls import register_converter


class ObjectId:
    """An id or a number in a URL: at most 18 digits, so it always fits the database's 64-bit
    integer. A longer number names nothing: 404, where ``<int:…>`` would reach the database
    and fail with an overflow (a 500)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)


class CrmId:
    """A deal's CRM id in a URL: any text, slashes included ("ACME/2026 renewal"), but not
    starting or ending with one (ids are stripped of surrounding space), so a trailing
    slash too many is an address that names nothing, not a deal whose id ends in "/"."""

    regex = "[^/](?:.*[^/])?"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value) -> str:
        return str(value)


register_converter(ObjectId, "id")
register_converter(CrmId, "crm_id")
