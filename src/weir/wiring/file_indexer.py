"""The `file_indexer` Lambda: S3 event notifications → the DynamoDB file catalog."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from weir import config
from weir.errors import InvalidInputError
from weir.wiring.aws import AwsClients

if TYPE_CHECKING:
    from weir.files.service import FileIndexer


@dataclass(frozen=True)
class FileIndexerFunction:
    indexer: FileIndexer
    region: str
    environment: str | None


def build_file_indexer(environ: Mapping[str, str] = os.environ, *,
                       clients: AwsClients | None = None) -> FileIndexerFunction:
    """DynamoDB catalog, S3 as the object source, with the clients every function gets.

    Reads exactly `config.FILE_INDEXER_ENV` and the region the Lambda runtime provides.
    An endpoint override (moto, LocalStack) comes from botocore's own AWS_ENDPOINT_URL.
    """
    from weir.backends.aws.files import DynamoFileCatalog, S3ObjectSource
    from weir.files.service import FileIndexer

    table = environ.get(config.ENV_FILES_TABLE)
    if not table:
        raise InvalidInputError(f"{config.ENV_FILES_TABLE} is not set: the name of the file catalog table")
    deletion = environ.get(config.ENV_FILES_DELETION) or "tombstone"
    environment = environ.get(config.ENV_ENVIRONMENT)
    region = next((environ[k] for k in config.REGION_ENV if environ.get(k)), None)
    if region is None:
        raise InvalidInputError("no AWS region: the Lambda runtime sets AWS_REGION; locally set AWS_DEFAULT_REGION")
    clients = clients or AwsClients(region=region)
    catalog = DynamoFileCatalog(clients.get("dynamodb"), table)
    objects = S3ObjectSource(clients.get("s3"))
    return FileIndexerFunction(FileIndexer(catalog, objects, region=region, deletion=deletion), region, environment)
