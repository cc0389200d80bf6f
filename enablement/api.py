"""The versioned JSON API (django-ninja, a Wagtail dependency). Its OpenAPI schema is served
at /api/v1/openapi.json and, unless API_DOCS is off (the production default), browsable at
/api/v1/docs with Swagger UI from this site's own static files. Each app contributes a
router from its own ``api.py``."""

import json
import re

from django.conf import settings
from django.db import OperationalError
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError
from ninja.parser import Parser
from ninja.security import SessionAuth

from accounts.throttle import Throttled, throttled_response
from analytics import api as analytics_api
from cms.middleware import busy_refusal, database_busy
from search import api as search_api


class UnstorableBody(ValueError):
    """A request body that is JSON to Python but not to the standard or to a database."""


# A UTF-16 surrogate or a NUL written as an escape: the only way either reaches a body (raw,
# a surrogate is not UTF-8 and a NUL is a control character JSON refuses).
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:[dD][89a-fA-F]|0000)")


def _refuse_constant(name: str):
    raise UnstorableBody(f"{name} is not a JSON number (send null or a string)")


def _text_problem(value, where: str = "body") -> str:
    """Where and why a text of ``value`` cannot be stored ("body.name: text with a NUL
    character"), or ""."""
    if isinstance(value, str):
        if "\x00" in value:
            return f"{where}: text with a NUL character"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"{where}: text with an unpaired UTF-16 surrogate"
        return ""
    if not isinstance(value, dict | list):
        return ""
    for key, item in value.items() if isinstance(value, dict) else enumerate(value):
        found = _text_problem(key, f"{where} (a name)") if isinstance(key, str) else ""
        found = found or _text_problem(item, f"{where}.{key}")
        if found:
            return found
    return ""


class StrictJSON(Parser):
    """Bodies as the JSON standard has them, and as a database can store them: no NaN or
    Infinity, no text holding half of a UTF-16 surrogate pair, and no NUL character, which no
    PostgreSQL text column holds (each was a 500 after the request was accepted, or a stored
    value that broke the pages showing it)."""

    def parse_body(self, request):
        body = request.body
        data = json.loads(body, parse_constant=_refuse_constant)
        if _SUSPECT_ESCAPE.search(body):
            problem = _text_problem(data)
            if problem:
                raise UnstorableBody(problem)
        return data


api = NinjaAPI(
    title="Enablement Library API",
    version="1",
    urls_namespace="api-v1",
    docs_url="/docs" if settings.API_DOCS else None,
    parser=StrictJSON(),
)
api.add_exception_handler(Throttled, throttled_response)


def _http_error(request, error: HttpError):
    """ninja's answer to an HttpError, but a body refused by ``StrictJSON`` says why (ninja
    says only "Cannot parse request body" unless DEBUG is on)."""
    cause = error.__cause__
    detail = str(cause) if isinstance(cause, UnstorableBody) else str(error)
    return api.create_response(request, {"detail": detail}, status=error.status_code)


api.add_exception_handler(HttpError, _http_error)


def _database_busy(request, error: OperationalError):
    """A write that found the database busy past its timeout: 503 and Retry-After."""
    if not database_busy(error):
        raise error
    return busy_refusal(request)


api.add_exception_handler(OperationalError, _database_busy)


def _problem(error: dict) -> tuple[str, dict]:
    """One schema error: its name for the message, and itself as this API names a refused
    item of a batch (its index and its field, as the events API's own refusals do) when it is
    in an item of a list, else by its parameter or dotted body field."""
    where = [str(part) for part in error["loc"] if part not in ("body", "payload", "query")]
    if len(where) >= 3 and where[1].isdecimal():
        batch, index, field = where[0], int(where[1]), ".".join(where[2:])
        return f"{batch}[{index}].{field}", {"index": index, "field": field, "error": error["msg"]}
    field = ".".join(where) or "body"
    return field, {"field": field, "error": error["msg"]}


def _invalid(request, error: ValidationError):
    """A request that does not fit the endpoint's schema: 400, like this API's other
    refusals, naming each field (ninja's default is a 422 in a shape of its own)."""
    named = [_problem(problem) for problem in error.errors]
    detail = "; ".join(f"{name}: {problem['error']}" for name, problem in named)
    errors = [problem for _, problem in named]
    return api.create_response(request, {"detail": detail, "errors": errors}, status=400)


api.add_exception_handler(ValidationError, _invalid)


for app_api in (search_api, analytics_api):
    api.add_router(app_api.PREFIX, app_api.router)

__all__ = ["api", "SessionAuth"]
