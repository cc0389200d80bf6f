"""Path converters the apps' URLs share (registered once, in ``enablement.urls``)."""


class ObjectId:
    """An id or a number in a URL: at most 18 digits, so it always fits the database's 64-bit
    integer. A longer number names nothing: 404, where ``<int:…>`` would reach the database
    and fail with an overflow (a 500)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)
