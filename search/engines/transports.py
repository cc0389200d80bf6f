"""The two transports of the server engine (``search.engines.elastic``): the same request
bodies sent through opensearch-py to OpenSearch and through the elasticsearch client to
Elasticsearch (which refuses servers that are not Elasticsearch), and how their errors read:
the server did not answer (``_unanswered``: the breaker counts it) or said the index is not
there (``index_not_found``: ``IndexMissing``).
"""

from __future__ import annotations

from search.engines.base import SearchUnavailable
from search.engines.breaker import without_password


class OpenSearchTransport:
    """Lookups (searches, counts, alias and mapping checks) wait ``timeout``; writes
    (``bulk``, ``create``, ``delete``, ``update_aliases``, ``refresh``) ``write_timeout``."""

    kind = "opensearch"

    def __init__(self, url: str, timeout: float, write_timeout: float):
        from opensearchpy import OpenSearch, exceptions

        self.client = OpenSearch(hosts=[url], timeout=timeout, max_retries=0)
        self.write = {"request_timeout": write_timeout}
        self.errors = (exceptions.OpenSearchException,)  # transport, connection, serialization

    def search(self, index: str, body: dict) -> dict:
        return self.client.search(index=index, body=body)

    def bulk(self, body: bytes, refresh) -> dict:
        return self.client.bulk(body=body, refresh=refresh, **self.write)

    def create(self, name: str, body: dict) -> None:
        self.client.indices.create(index=name, body=body, **self.write)

    def delete(self, name: str) -> None:
        self.client.indices.delete(index=name, ignore_unavailable=True, **self.write)

    def aliases(self, alias: str) -> list[str]:
        if not self.client.indices.exists_alias(name=alias):
            return []
        return list(self.client.indices.get_alias(name=alias))

    def exists(self, name: str) -> bool:
        return bool(self.client.indices.exists(index=name))

    def update_aliases(self, actions: list[dict]) -> None:
        self.client.indices.update_aliases(body={"actions": actions}, **self.write)

    def refresh(self, name: str) -> None:
        self.client.indices.refresh(index=name, **self.write)

    def mapping(self, name: str) -> dict:
        """The mappings of the index behind ``name`` (its ``properties`` and ``_meta``)."""
        answer = self.client.indices.get_mapping(index=name)
        return next(iter(answer.values()))["mappings"]

    def count(self, index: str) -> int | None:
        """Documents in ``index``; None when there is no such index."""
        from opensearchpy.exceptions import NotFoundError

        try:
            return int(self.client.count(index=index)["count"])
        except NotFoundError:
            return None


class ElasticsearchTransport:
    kind = "elasticsearch"
    # Elasticsearch 8.10+ highlights in "weight matches" mode, which re-runs the query per
    # hit: with typo-tolerant (fuzzy) clauses that tripled search time on a real node. Off,
    # highlighting works as on OpenSearch (which refuses the setting, hence only here).
    INDEX_SETTINGS = {"highlight.weight_matches_mode.enabled": False}

    def __init__(self, url: str, timeout: float, write_timeout: float):
        import elastic_transport
        import elasticsearch

        self.client = elasticsearch.Elasticsearch(url, request_timeout=timeout, max_retries=0)
        self.writer = self.client.options(request_timeout=write_timeout)  # as the OpenSearch one
        self.errors = (
            elasticsearch.ApiError,
            elasticsearch.UnsupportedProductError,
            elastic_transport.TransportError,
        )

    def search(self, index: str, body: dict) -> dict:
        return self.client.search(index=index, body=body).body

    def bulk(self, body: bytes, refresh) -> dict:
        return self.writer.bulk(operations=body, refresh=refresh).body

    def create(self, name: str, body: dict) -> None:
        settings = {**body.get("settings", {}), "index": self.INDEX_SETTINGS}
        self.writer.indices.create(index=name, **{**body, "settings": settings})

    def delete(self, name: str) -> None:
        self.writer.indices.delete(index=name, ignore_unavailable=True)

    def aliases(self, alias: str) -> list[str]:
        if not self.client.indices.exists_alias(name=alias):
            return []
        return list(self.client.indices.get_alias(name=alias).body)

    def exists(self, name: str) -> bool:
        return bool(self.client.indices.exists(index=name))

    def update_aliases(self, actions: list[dict]) -> None:
        self.writer.indices.update_aliases(actions=actions)

    def refresh(self, name: str) -> None:
        self.writer.indices.refresh(index=name)

    def mapping(self, name: str) -> dict:
        """The mappings of the index behind ``name`` (its ``properties`` and ``_meta``)."""
        answer = self.client.indices.get_mapping(index=name).body
        return next(iter(answer.values()))["mappings"]

    def count(self, index: str) -> int | None:
        """Documents in ``index``; None when there is no such index."""
        from elasticsearch import NotFoundError

        try:
            return int(self.client.count(index=index)["count"])
        except NotFoundError:
            return None


def detect_kind(url: str, timeout: float = 5.0) -> str:
    """ "opensearch" or "elasticsearch", from the server's root document.

    Asked through opensearch-py, which (unlike the elasticsearch client) answers whatever the
    product and reads credentials in the URL (``https://user:password@host:9200``) the way both
    transports do; a bare HTTP request would not authenticate."""
    from opensearchpy import OpenSearch, exceptions

    client = OpenSearch(hosts=[url], timeout=timeout, max_retries=0)
    try:
        info = client.info()
    except exceptions.OpenSearchException as error:
        message = f"no search server answers at {without_password(url)}: {error}"
        raise SearchUnavailable(message) from error
    finally:
        client.close()
    distribution = info.get("version", {}).get("distribution", "")
    return "opensearch" if distribution == "opensearch" else "elasticsearch"


INDEX_NOT_FOUND = "index_not_found_exception"


def index_not_found(error: BaseException) -> bool:
    """Whether ``error`` is the server saying the index (or alias) asked for does not exist
    (both clients' ``NotFoundError`` carry the error type as ``error``)."""
    return getattr(error, "error", None) == INDEX_NOT_FOUND


def _unanswered(error: BaseException) -> bool:
    """Whether ``error``, or an error it was raised from, says the server did not answer:
    it refused the connection, could not be reached, or did not answer within the timeout
    (both clients' ``ConnectionError`` family, timeouts and TLS failures included). An error
    status (``ApiError``, opensearch-py's ``TransportError`` with a status) is an answer."""
    import elastic_transport
    from opensearchpy.exceptions import ConnectionError as OpenSearchUnreachable

    silent = (
        OpenSearchUnreachable,  # its ConnectionTimeout and SSLError too
        elastic_transport.ConnectionError,  # TlsError too
        elastic_transport.ConnectionTimeout,
    )
    while error is not None:
        if isinstance(error, silent):
            return True
        error = error.__cause__
    return False
