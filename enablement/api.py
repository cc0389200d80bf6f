"""The versioned JSON API (django-ninja, a Wagtail dependency). Its OpenAPI schema is served
at /api/v1/openapi.json and, unless API_DOCS is off (the production default), browsable at
/api/v1/docs with Swagger UI from this site's own static files. Each app contributes a
router from its own ``api.py``."""

import json
import re
from collections import Counter

from django.conf import settings
from django.db import OperationalError
from django.http import JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from ninja import NinjaAPI, Swagger
from ninja.errors import HttpError, ValidationError
from ninja.parser import Parser
from ninja.security import SessionAuth

from accounts.throttle import Throttled, throttled_response
from analytics import api as analytics_api
from cms.middleware import busy_refusal, database_busy
from search import api as search_api


class RefusedBody(ValueError):
    """A request body that Python reads as JSON but this API refuses; the message says where
    and why, and is the 400's detail."""


class UnstorableBody(RefusedBody):
    """A request body that is JSON to Python but not to the standard or to a database."""


class DuplicateName(RefusedBody):
    """An object in the body that gives a name twice (``{"stage": "a", "stage": "b"}``).
    The JSON standard leaves what it means open (RFC 8259, 4); Python keeps the last value,
    so a client's mistake was stored as if it meant the last one."""


class _Repeated(dict):
    """A parsed object whose pairs named ``repeated`` more than once."""

    repeated = ""


def _object(pairs: list[tuple], repeats: list[str]) -> dict:
    """A parsed object; one that repeats a name is marked, and the name noted in ``repeats``
    (``_repeated_name`` then finds where it is)."""
    value = dict(pairs)
    if len(value) == len(pairs):
        return value
    marked = _Repeated(value)
    counts = Counter(name for name, _ in pairs)
    marked.repeated = next(name for name, count in counts.items() if count > 1)
    repeats.append(marked.repeated)
    return marked


def _repeated_name(value, where: str = "body") -> str:
    """Where the first object of ``value`` with a repeated name has it ("body.attributes.tier"),
    or ""."""
    if isinstance(value, _Repeated):
        return f"{where}.{value.repeated}"
    if not isinstance(value, dict | list):
        return ""
    for key, item in value.items() if isinstance(value, dict) else enumerate(value):
        found = _repeated_name(item, f"{where}.{key}")
        if found:
            return found
    return ""


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
    value that broke the pages showing it); and no object naming a field twice, whose last
    value was stored without a word (``DuplicateName``)."""

    def parse_body(self, request):
        body = request.body
        repeats: list[str] = []
        data = json.loads(
            body,
            parse_constant=_refuse_constant,
            object_pairs_hook=lambda pairs: _object(pairs, repeats),
        )
        if repeats:
            where = _repeated_name(data)
            raise DuplicateName(f"{where}: given more than once in one object (send it once)")
        if _SUSPECT_ESCAPE.search(body):
            problem = _text_problem(data)
            if problem:
                raise UnstorableBody(problem)
        return data


def _read_only_document(view):
    """The OpenAPI schema and the docs page take GET (and so HEAD) only, like the endpoints:
    another method is the API's JSON 405 with its Allow header (``MethodNotAllowedAsJson``).
    Unlike ninja's endpoints its views for them were not exempt from the CSRF check, so a
    POST met Django's HTML CSRF page instead; they change nothing, so they need no check."""
    return csrf_exempt(require_GET(view))


api = NinjaAPI(
    title="Enablement Library API",
    version="1",
    urls_namespace="api-v1",
    docs_url="/docs" if settings.API_DOCS else None,
    # No validator badge: Swagger UI would fetch it from validator.swagger.io for any
    # schema not served from localhost, a request to a third-party host.
    docs=Swagger(settings={"validatorUrl": None}),
    docs_decorator=_read_only_document,
    parser=StrictJSON(),
)
api.add_exception_handler(Throttled, throttled_response)


def _http_error(request, error: HttpError):
    """ninja's answer to an HttpError, but a body refused by ``StrictJSON`` says why (ninja
    says only "Cannot parse request body" unless DEBUG is on)."""
    cause = error.__cause__
    detail = str(cause) if isinstance(cause, RefusedBody) else str(error)
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


def _is_endpoint(path_info: str) -> bool:
    try:
        return api.urls_namespace in resolve(path_info).namespaces
    except Resolver404:
        return False


@csrf_exempt
def not_found(request, *args, **kwargs):
    """Every address under /api/ that names no endpoint: a 404 in JSON, whatever the method.
    Such an address used to fall through to the site's pages: a POST met the CSRF check's
    HTML page, one without a trailing slash was redirected to one with it (a redirect that
    drops a POST's body), and a signed-out client was sent to sign in.

    An endpoint has one address, as the OpenAPI schema lists it (no trailing slash); an
    address that differs from one only by a trailing slash is not quietly accepted too, but
    its 404 names the address to use, so a client's mistake shows on its first request."""
    path = request.path_info
    other = path[:-1] if path.endswith("/") else f"{path}/"
    detail = f"No API endpoint at {request.path}."
    if _is_endpoint(other):
        detail += f" Did you mean {request.path.removesuffix(path)}{other}?"
    return JsonResponse({"detail": detail}, status=404)


class MethodNotAllowedAsJson:
    """ninja answers a method that an endpoint does not take with a 405 in plain text (and no
    hook to change it); under /api/ the answer is JSON like every other refusal of the API,
    naming the methods the endpoint takes, which the Allow header keeps listing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code != 405 or not request.path_info.startswith("/api/"):
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        allowed = _with_head(response.get("Allow", ""))
        detail = f"{request.method} is not allowed at {request.path}; it takes {allowed}."
        answer = JsonResponse({"detail": detail}, status=405)
        answer["Allow"] = allowed
        return answer


def _with_head(allowed: str) -> str:
    """An Allow header's methods with HEAD added wherever GET is (``HeadAsGet``)."""
    methods = [method.strip() for method in allowed.split(",") if method.strip()]
    if "GET" in methods and "HEAD" not in methods:
        methods.append("HEAD")
    return ", ".join(methods)


class HeadAsGet:
    """HEAD under /api/ is answered as GET is, wherever GET is (HTTP: the same status and
    headers, no body); ninja routes a HEAD to no endpoint, so it was a 405. The request runs
    as a GET, through the same authentication, permissions and throttles, so a HEAD is
    refused wherever a GET would be. As for Django's own views, the server leaves out the
    body (gunicorn, runserver and Django's test client do)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method != "HEAD" or not request.path_info.startswith("/api/"):
            return self.get_response(request)
        request.method = "GET"
        request.answering_head = True  # what a GET would record is not (``search``)
        try:
            return self.get_response(request)
        finally:
            request.method = "HEAD"


__all__ = ["api", "SessionAuth"]
