"""Files in a private S3 bucket, handed to browsers as presigned URLs of the address they can
reach; and telling a file store that is down from a file that is not there.

Inside a container network the app reaches the bucket at one address (``http://minio:9000``)
that a rep's browser cannot resolve; ``public_endpoint_url`` (``S3_PUBLIC_ENDPOINT_URL``)
names the one it can (MinIO's published port, or a proxy in front of it). Presigning is done
offline, so nothing is ever sent to the public address from the server.
"""

from __future__ import annotations

import errno
import os
import threading

from botocore.config import Config
from django.core.files.storage import FileSystemStorage
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

#: Tries of one call to the store, the first included: a store that does not answer costs a
#: request at most about twice ``timeout`` (before 2026-12-06, botocore's defaults: 60 s to
#: connect and 60 s per read, tried again, longer than gunicorn lets a request run).
ATTEMPTS = 2


class BucketStorage(S3Storage):
    """S3 with ``public_endpoint_url`` (above) and ``timeout``: seconds to connect, and to
    wait for each read, before the store counts as down (``file_store_down``: a 503)."""

    def __init__(self, **settings):
        super().__init__(**settings)
        self._public = threading.local()
        self.client_config = self.client_config.merge(
            Config(
                connect_timeout=self.timeout,
                read_timeout=self.timeout,
                retries={"mode": "standard", "total_max_attempts": ATTEMPTS},
            )
        )

    def get_default_settings(self):
        return {**super().get_default_settings(), "public_endpoint_url": None, "timeout": 10}

    def url(self, name, parameters=None, expire=None, http_method=None):
        if not self.public_endpoint_url:
            return super().url(name, parameters, expire, http_method)
        params = {
            **(parameters or {}),
            "Bucket": self.bucket_name,
            "Key": self._normalize_name(clean_name(name)),
        }
        return self._public_client().generate_presigned_url(
            "get_object",
            Params=params,
            ExpiresIn=self.querystring_expire if expire is None else expire,
            HttpMethod=http_method,
        )

    def _public_client(self):
        client = getattr(self._public, "client", None)
        if client is None:
            client = self._public.client = self._create_session().client(
                "s3",
                region_name=self.region_name,
                use_ssl=self.use_ssl,
                endpoint_url=self.public_endpoint_url,
                config=self.client_config,
                verify=self.verify,
            )
        return client


class DiskStorage(FileSystemStorage):
    """Files on local disk; a file whose writing fails (a full disk, an I/O error) is not
    left behind half-written. Django's leaves the part that fit: no row names it, nothing
    deletes it, and it holds the room the user's "try again" needs."""

    def _save(self, name, content):
        path = self.path(name)
        existed = os.path.lexists(path)
        try:
            return super()._save(name, content)
        except OSError:
            if not existed:
                try:
                    os.remove(path)
                except OSError:
                    pass  # never written, or not ours to remove: the first error is the news
            raise


#: Local-disk failures that are the store's, not the file's: full, read-only or failing, or
#: its directories made unwritable to the app (an operator's slip the user can only wait out).
_DISK_DOWN = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EACCES, errno.EPERM}


def file_store_down(error: BaseException) -> bool:
    """Whether ``error`` means the file store cannot serve now (S3 unreachable, timing out
    or failing; a full or failing disk), as opposed to a file that is missing or refused."""
    import botocore.exceptions

    if isinstance(error, botocore.exceptions.ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return status >= 500
    if isinstance(error, botocore.exceptions.BotoCoreError):
        return True  # no answer: connection refused or reset, timeout, endpoint unknown
    return isinstance(error, OSError) and error.errno in _DISK_DOWN


def file_missing(error: BaseException | None) -> bool:
    """Whether ``error`` means the stored file is not there (deleted, or moved away from the
    media directory or the bucket) while the store itself answers: a 404, not a 503, since
    asking again cannot help."""
    import botocore.exceptions

    if isinstance(error, botocore.exceptions.ClientError):
        return error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404
    return isinstance(error, FileNotFoundError | NotADirectoryError)
