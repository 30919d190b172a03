"""Every attribute key refnova writes on a span, in one place.

Keys OpenTelemetry's semantic conventions define come from ``opentelemetry-semantic-conventions``
(stable ones from ``opentelemetry.semconv.attributes``, the others from its ``_incubating``
package); refnova's own keys (``nova.*``, ``refnova.*``) are the constants below. The names and
values written are those of the pinned release's newest schema (``SCHEMA_URL``).
"""

from typing import Final

from opentelemetry.semconv._incubating.attributes.db_attributes import DbSystemNameValues
from opentelemetry.semconv._incubating.attributes.service_attributes import SERVICE_PEER_NAME
from opentelemetry.semconv._incubating.attributes.url_attributes import URL_TEMPLATE
from opentelemetry.semconv.attributes.client_attributes import CLIENT_ADDRESS
from opentelemetry.semconv.attributes.code_attributes import CODE_FUNCTION_NAME
from opentelemetry.semconv.attributes.db_attributes import (
    DB_COLLECTION_NAME,
    DB_NAMESPACE,
    DB_OPERATION_BATCH_SIZE,
    DB_OPERATION_NAME,
    DB_QUERY_SUMMARY,
    DB_QUERY_TEXT,
    DB_SYSTEM_NAME,
)
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.semconv.attributes.http_attributes import (
    HTTP_REQUEST_METHOD,
    HTTP_RESPONSE_STATUS_CODE,
    HTTP_ROUTE,
)
from opentelemetry.semconv.attributes.network_attributes import (
    NETWORK_PROTOCOL_NAME,
    NETWORK_PROTOCOL_VERSION,
)
from opentelemetry.semconv.attributes.otel_attributes import (
    OTEL_SCOPE_NAME,
    OTEL_STATUS_CODE,
    OTEL_STATUS_DESCRIPTION,
)
from opentelemetry.semconv.attributes.server_attributes import SERVER_ADDRESS, SERVER_PORT
from opentelemetry.semconv.attributes.service_attributes import (
    SERVICE_NAME,
    SERVICE_NAMESPACE,
    SERVICE_VERSION,
)
from opentelemetry.semconv.attributes.url_attributes import (
    URL_FULL,
    URL_PATH,
    URL_QUERY,
    URL_SCHEME,
)
from opentelemetry.semconv.attributes.user_agent_attributes import USER_AGENT_ORIGINAL


def _schema_url() -> str:
    """The URL of the newest schema the pinned semantic conventions package knows: the
    names written are that release's (tests/unit/tracing/test_semconv_registry.py)."""
    from opentelemetry.semconv.schemas import Schemas

    def version(schema: Schemas) -> tuple[int, ...]:
        return tuple(int(part) for part in str(schema.value).rsplit("/", 1)[1].split("."))

    return str(max(Schemas, key=version).value)


SCHEMA_URL: Final = _schema_url()

# --- refnova's own keys ----------------------------------------------------------------

# The Nova fault name of a refused request ("badRequest", "itemNotFound", ...).
NOVA_FAULT: Final = "nova.fault"
NOVA_REQUEST_ID: Final = "nova.request_id"
NOVA_PROJECT_ID: Final = "nova.project_id"
NOVA_RESERVATION_ID: Final = "nova.reservation_id"
NOVA_INSTANCE_UUID: Final = "nova.instance_uuid"
NOVA_INSTANCE_UUIDS: Final = "nova.instance_uuids"
NOVA_NUM_INSTANCES: Final = "nova.num_instances"
NOVA_HOST: Final = "nova.host"
NOVA_NODE: Final = "nova.node"
# The RPC call a message carries (oslo.messaging's envelope fields).
NOVA_RPC_METHOD: Final = "nova.rpc.method"
NOVA_RPC_NAMESPACE: Final = "nova.rpc.namespace"
NOVA_RPC_VERSION: Final = "nova.rpc.version"
# The INTERNAL span of a stand-in that answers from the world, without any HTTP.
REFNOVA_IN_PROCESS: Final = "refnova.in_process"

# db.system.name of each SQLAlchemy dialect (anything else is "other_sql").
DB_SYSTEMS: Final = {
    "sqlite": DbSystemNameValues.SQLITE.value,
    "postgresql": DbSystemNameValues.POSTGRESQL.value,
    "mysql": DbSystemNameValues.MYSQL.value,
    "mariadb": DbSystemNameValues.MARIADB.value,
    "mssql": DbSystemNameValues.MICROSOFT_SQL_SERVER.value,
    "oracle": DbSystemNameValues.ORACLE_DB.value,
}
DB_SYSTEM_OTHER: Final = DbSystemNameValues.OTHER_SQL.value

__all__ = [
    "CLIENT_ADDRESS",
    "CODE_FUNCTION_NAME",
    "DB_COLLECTION_NAME",
    "DB_NAMESPACE",
    "DB_OPERATION_BATCH_SIZE",
    "DB_OPERATION_NAME",
    "DB_QUERY_SUMMARY",
    "DB_QUERY_TEXT",
    "DB_SYSTEM_NAME",
    "DB_SYSTEMS",
    "DB_SYSTEM_OTHER",
    "ERROR_TYPE",
    "HTTP_REQUEST_METHOD",
    "HTTP_RESPONSE_STATUS_CODE",
    "HTTP_ROUTE",
    "NETWORK_PROTOCOL_NAME",
    "NETWORK_PROTOCOL_VERSION",
    "NOVA_FAULT",
    "NOVA_HOST",
    "NOVA_INSTANCE_UUID",
    "NOVA_INSTANCE_UUIDS",
    "NOVA_NODE",
    "NOVA_NUM_INSTANCES",
    "NOVA_PROJECT_ID",
    "NOVA_REQUEST_ID",
    "NOVA_RESERVATION_ID",
    "NOVA_RPC_METHOD",
    "NOVA_RPC_NAMESPACE",
    "NOVA_RPC_VERSION",
    "OTEL_SCOPE_NAME",
    "OTEL_STATUS_CODE",
    "OTEL_STATUS_DESCRIPTION",
    "REFNOVA_IN_PROCESS",
    "SCHEMA_URL",
    "SERVER_ADDRESS",
    "SERVER_PORT",
    "SERVICE_NAME",
    "SERVICE_NAMESPACE",
    "SERVICE_PEER_NAME",
    "SERVICE_VERSION",
    "URL_FULL",
    "URL_PATH",
    "URL_QUERY",
    "URL_SCHEME",
    "URL_TEMPLATE",
    "USER_AGENT_ORIGINAL",
]
