"""botocore sessions and clients for Weir's AWS adapters, built for short cold starts.

Clients come from botocore's own session: the same client, and the same region,
credential and endpoint resolution, as `boto3.client(service)`, without importing boto3's
resource layer and s3transfer (30-40 ms of every cold start).

The session's data loader is botocore's own with one change. Before loading a service
model, `Loader.load_service_model` checks the name against `list_available_services`,
which lists every one of the ~440 service folders botocore ships (a listdir and a stat
each), once for the service model and once for the endpoint rules: about 50 ms of a
Lambda cold start, a fifth of creating a DynamoDB client. `_ServiceNames` answers that
membership test by looking in the one folder asked about, with the lookup botocore itself
makes right after (`list_api_versions`, cached); only an unknown name, whose error message
lists the known ones, walks them all. Models, search paths (AWS_DATA_PATH included) and
errors are botocore's.
"""

from __future__ import annotations

from collections.abc import Sequence

from botocore.exceptions import DataNotFoundError
from botocore.loaders import Loader, create_loader

from weir.config import MissingSettingError


class _ServiceNames(Sequence):
    """The services with `type_name` data, as `Loader.list_available_services` returns
    them, except that `in` checks only the name given."""

    def __init__(self, loader: Loader, type_name: str) -> None:
        self._loader, self._type_name = loader, type_name
        self._all: list[str] | None = None

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        try:
            return bool(self._loader.list_api_versions(name, self._type_name))
        except DataNotFoundError:
            return False

    def _names(self) -> list[str]:
        if self._all is None:
            self._all = Loader.list_available_services(self._loader, self._type_name)
        return self._all

    def __getitem__(self, index):
        return self._names()[index]

    def __len__(self) -> int:
        return len(self._names())

    def __iter__(self):
        return iter(self._names())


class LeanLoader(Loader):
    """botocore's Loader whose service-name check looks at one folder (module docstring)."""

    def list_available_services(self, type_name):
        return _ServiceNames(self, type_name)


def new_session():
    """A botocore session whose data loader is `LeanLoader`, over the search paths
    botocore would use (its own data, ~/.aws/models, AWS_DATA_PATH)."""
    from botocore.session import get_session

    session = get_session()
    default = create_loader(session.get_config_variable("data_path"))
    lean = LeanLoader(extra_search_paths=list(default.search_paths), include_default_search_paths=False)
    session.register_component("data_loader", lean)
    return session


# HTTP attempts per call that botocore makes (standard retry mode). DynamoDB's clients make
# one: `weir.backends.aws.dynamo.Dynamo` owns their retries (it alone sees unprocessed items
# and cancelled transactions, and with two layers retrying the budgets multiplied).
SDK_ATTEMPTS = 4  # 3 retries
SDK_ATTEMPTS_BY_SERVICE = {"dynamodb": 1}


def aws_client(service: str, endpoint_url: str | None = None, session=None, *, region: str | None = None):
    """A client with standard retries (`SDK_ATTEMPTS`; none for DynamoDB, see above) and
    bounded timeouts, the one client configuration of every Weir function. Clients built
    together share a session, so its configuration and endpoint data load once. `region`
    None: botocore's own resolution."""
    from botocore.config import Config
    from botocore.exceptions import NoRegionError

    attempts = SDK_ATTEMPTS_BY_SERVICE.get(service, SDK_ATTEMPTS)
    try:
        return (session or new_session()).create_client(
            service,
            endpoint_url=endpoint_url,
            region_name=region,
            config=Config(retries={"mode": "standard", "total_max_attempts": attempts}, connect_timeout=5,
                          read_timeout=20),
        )
    except NoRegionError:
        raise MissingSettingError(
            "no AWS region configured: set AWS_DEFAULT_REGION or a profile's region "
            "(in Lambda the runtime provides it; Weir never sets the region itself)"
        ) from None
