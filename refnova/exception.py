"""The NovaException family, with Nova 2014.1's message templates and class codes.

How an exception becomes an HTTP answer is not decided here: each API contract keeps one
table for that (``refnova.api.openstack.compute.errors``).
"""

from collections.abc import Mapping
from typing import Any, ClassVar

import webob.exc

# WebOb 1.3's default explanations. Nova answered with them where it raised a bare HTTP
# error, so they are part of the contract (CR LF included).
GENERIC_TEXT = {
    400: "The server could not comply with the request since\r\n"
    "it is either malformed or otherwise incorrect.\r\n",
    401: "This server could not verify that you are authorized to access the document you "
    "requested.  Either you supplied the wrong credentials (e.g., bad password), or "
    "your browser does not understand how to supply the credentials required.",
    403: "Access was denied to this resource.",
    404: "The resource could not be found.",
    405: "The method is not allowed for this resource.",
    409: "There was a conflict when trying to complete your request.",
    413: "Request is too large.",
    415: "The request media type is not supported by this server.",
    422: "Unable to process the contained instructions",
    500: "The server has either erred or is incapable of performing\r\n"
    "the requested operation.\r\n",
    503: "The server is currently unavailable. Please try again at a later time.",
}

# Nova's fault keys by status (nova/api/openstack/wsgi.py Fault._fault_names, 2014.1); any
# other status is a computeFault. Kept here so the API and the behaviours below it share one table.
FAULT_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    429: "overLimit",
    501: "notImplemented",
    503: "serviceUnavailable",
}


def fault_key_for(status: int) -> str:
    return FAULT_NAMES.get(status, "computeFault")


# The webob.exc class Nova raises for each status its API layer answers by itself.
HTTP_ERROR_CLASSES = {
    status: error.__name__ for status, error in webob.exc.status_map.items() if status >= 400
}


class ApiError(Exception):
    """An HTTP error raised by the API layer itself (Nova's ``webob.exc.HTTP*``).

    Without a message it carries WebOb's default explanation for its status.
    """

    def __init__(
        self,
        status: int,
        message: str | None = None,
        headers: Mapping[str, object] | None = None,
        details: str | None = None,
        fault: str | None = None,
    ) -> None:
        self.status = status
        self.fault = fault  # a fault key of its own (an injected behaviour's), else the status's
        self.message = GENERIC_TEXT.get(status, "") if message is None else message
        self.headers = dict(headers) if headers else {}
        self.details = details  # the rate limiter's extra fault field
        super().__init__(self.message)

    @property
    def error_type(self) -> str:
        """OpenTelemetry's ``error.type`` of this answer: the Nova exception it was raised
        for (``FlavorNotFound`` behind "Invalid flavorRef provided."), else the class Nova
        raises for its status (``HTTPBadRequest``: a check of the API layer itself)."""
        for origin in (self.__cause__, self.__context__):
            if isinstance(origin, NovaException):
                return type(origin).__name__
        return HTTP_ERROR_CLASSES.get(self.status, "HTTPError")


class NovaException(Exception):
    msg_fmt = "An unknown exception occurred."
    code = 500
    headers: ClassVar[Mapping[str, object]] = {}
    safe = False

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        self.kwargs = {"code": self.code, **kwargs}
        if message is None:
            try:
                message = self.msg_fmt % self.kwargs
            except (KeyError, TypeError, ValueError):
                # Nova logs the formatting problem and falls back to the raw template.
                message = self.msg_fmt
        self.message = str(message)
        super().__init__(self.message)

    def format_message(self) -> str:
        return self.message


def define(
    name: str, parent: type[NovaException], msg_fmt: str, code: int | None = None, **attrs: Any
) -> type[NovaException]:
    """A NovaException subclass with Nova's message template (and class code)."""
    body = {"msg_fmt": msg_fmt, **attrs}
    if code is not None:
        body["code"] = code
    return type(name, (parent,), body)


Invalid = define("Invalid", NovaException, "Unacceptable parameters.", 400)
NotFound = define("NotFound", NovaException, "Resource could not be found.", 404)
NotAuthorized = define("NotAuthorized", NovaException, "Not authorized.", 403)
PolicyNotAuthorized = define(
    "PolicyNotAuthorized", NotAuthorized, "Policy doesn't allow %(action)s to be performed."
)
InvalidInput = define("InvalidInput", Invalid, "Invalid input received: %(reason)s")
# What Nova's request schemas raise (nova.api.validation), answered as a 400.
ValidationError = define("ValidationError", Invalid, "%(detail)s")
InvalidRequest = define("InvalidRequest", Invalid, "The request is invalid.")
InvalidMetadata = define("InvalidMetadata", Invalid, "Invalid metadata: %(reason)s")
InvalidMetadataSize = define("InvalidMetadataSize", Invalid, "Invalid metadata size: %(reason)s")
# Where Icehouse answered a bare ``HTTPBadRequest`` (WebOb's own text), the layers below the
# API raise this; every contract's error table turns it into that same answer.
MalformedInput = define("MalformedInput", Invalid, GENERIC_TEXT[400])

QuotaError = define(
    "QuotaError",
    NovaException,
    "Quota exceeded: code=%(code)s",
    413,
    headers={"Retry-After": 0},
    safe=True,
)
TooManyInstances = define(
    "TooManyInstances",
    QuotaError,
    "Quota exceeded for %(overs)s: Requested %(req)s, but already used %(used)d "
    "of %(allowed)d %(resource)s",
)
MetadataLimitExceeded = define(
    "MetadataLimitExceeded", QuotaError, "Maximum number of metadata items exceeds %(allowed)d"
)
OnsetFileLimitExceeded = define(
    "OnsetFileLimitExceeded", QuotaError, "Personality file limit exceeded"
)
OnsetFilePathLimitExceeded = define(
    "OnsetFilePathLimitExceeded", QuotaError, "Personality file path too long"
)
OnsetFileContentLimitExceeded = define(
    "OnsetFileContentLimitExceeded", QuotaError, "Personality file content too long"
)
PortLimitExceeded = define("PortLimitExceeded", QuotaError, "Maximum number of ports exceeded")
OverQuota = define("OverQuota", NovaException, "Quota exceeded for resources: %(overs)s")

ImageNotFound = define("ImageNotFound", NotFound, "Image %(image_id)s could not be found.")
ImageNotActive = define("ImageNotActive", NovaException, "Image %(image_id)s is not active.")
ImageNotAuthorized = define(
    "ImageNotAuthorized", NovaException, "Not authorized for image %(image_id)s."
)
FlavorNotFound = define("FlavorNotFound", NotFound, "Flavor %(flavor_id)s could not be found.")
FlavorDiskTooSmall = define(
    "FlavorDiskTooSmall", NovaException, "Flavor's disk is too small for requested image."
)
FlavorMemoryTooSmall = define(
    "FlavorMemoryTooSmall", NovaException, "Flavor's memory is too small for requested image."
)
KeypairNotFound = define(
    "KeypairNotFound", NotFound, "Keypair %(name)s not found for user %(user_id)s"
)
ConfigDriveInvalidValue = define(
    "ConfigDriveInvalidValue", Invalid, "Invalid value for Config Drive option: %(option)s"
)
AutoDiskConfigDisabledByImage = define(
    "AutoDiskConfigDisabledByImage",
    Invalid,
    "Requested image %(image)s has automatic disk resize disabled.",
)
InstanceUserDataTooLarge = define(
    "InstanceUserDataTooLarge",
    NovaException,
    "User data too large. User data must be no larger than %(maxsize)s bytes once base64 "
    "encoded. Your data is %(length)d bytes",
)
InstanceUserDataMalformed = define(
    "InstanceUserDataMalformed", NovaException, "User data needs to be valid base 64."
)
MultiplePortsNotApplicable = define(
    "MultiplePortsNotApplicable", Invalid, "Failed to launch instances: %(reason)s"
)
# Not in Icehouse: today's compute API rejects a fixed IP for several instances.
InvalidFixedIpAndMaxCountRequest = define(
    "InvalidFixedIpAndMaxCountRequest", Invalid, "Failed to launch instances: %(reason)s"
)
AmbiguousHostnameForMultipleInstances = define(
    "AmbiguousHostnameForMultipleInstances",
    Invalid,
    "Unable to allocate a single hostname to multiple instances",
)
ComputeHostNotFound = define(
    "ComputeHostNotFound", NotFound, "Compute host %(host)s could not be found."
)
NetworkNotFound = define("NetworkNotFound", NotFound, "Network %(network_id)s could not be found.")
NetworkDuplicated = define("NetworkDuplicated", Invalid, "Network %(network_id)s is duplicated.")
NetworkAmbiguous = define(
    "NetworkAmbiguous",
    Invalid,
    "More than one possible network found. Specify network ID(s) to select which one(s) "
    "to connect to,",
)
NetworkRequiresSubnet = define(
    "NetworkRequiresSubnet",
    Invalid,
    "Network %(network_uuid)s requires a subnet in order to boot instances on.",
)
PortNotFound = define("PortNotFound", NotFound, "Port id %(port_id)s could not be found.")
PortInUse = define("PortInUse", Invalid, "Port %(port_id)s is still in use.")
PortRequiresFixedIP = define(
    "PortRequiresFixedIP", Invalid, "Port %(port_id)s requires a FixedIP in order to be used."
)
NoUniqueMatch = define("NoUniqueMatch", NovaException, "No Unique Match Found.", 409)
SecurityGroupNotFound = define(
    "SecurityGroupNotFound", NotFound, "Security group %(security_group_id)s not found."
)
SecurityGroupNotFoundForProject = define(
    "SecurityGroupNotFoundForProject",
    SecurityGroupNotFound,
    "Security group %(security_group_id)s not found for project %(project_id)s.",
)

InvalidBDM = define("InvalidBDM", Invalid, "Block Device Mapping is Invalid.")
InvalidBDMSnapshot = define(
    "InvalidBDMSnapshot",
    InvalidBDM,
    "Block Device Mapping is Invalid: failed to get snapshot %(id)s.",
)
InvalidBDMVolume = define(
    "InvalidBDMVolume", InvalidBDM, "Block Device Mapping is Invalid: failed to get volume %(id)s."
)
InvalidBDMImage = define(
    "InvalidBDMImage", InvalidBDM, "Block Device Mapping is Invalid: failed to get image %(id)s."
)
InvalidBDMBootSequence = define(
    "InvalidBDMBootSequence",
    InvalidBDM,
    "Block Device Mapping is Invalid: Boot sequence for the instance and image/block device "
    "mapping combination is not valid.",
)
InvalidBDMLocalsLimit = define(
    "InvalidBDMLocalsLimit",
    InvalidBDM,
    "Block Device Mapping is Invalid: You specified more local devices than the limit allows",
)
InvalidBDMEphemeralSize = define(
    "InvalidBDMEphemeralSize",
    InvalidBDM,
    "Ephemeral disks requested are larger than the instance type allows.",
)
InvalidBDMSwapSize = define(
    "InvalidBDMSwapSize", InvalidBDM, "Swap drive requested is larger than instance type allows."
)
InvalidBDMFormat = define(
    "InvalidBDMFormat", InvalidBDM, "Block Device Mapping is Invalid: %(details)s"
)
InstanceGroupNotFound = define(
    "InstanceGroupNotFound", NotFound, "Instance group %(group_uuid)s could not be found."
)
NoValidHost = define("NoValidHost", NovaException, "No valid host was found. %(reason)s")
InstanceNotFound = define(
    "InstanceNotFound", NotFound, "Instance %(instance_id)s could not be found."
)
ServiceUnavailable = define(
    "ServiceUnavailable", NovaException, "Service unavailable: %(reason)s", 503
)

# The resources around create: flavors and images listed by marker, key pairs.
MarkerNotFound = define("MarkerNotFound", NotFound, "Marker %(marker)s could not be found.")
InvalidKeypair = define("InvalidKeypair", Invalid, "Keypair data is invalid: %(reason)s")
KeyPairExists = define(
    "KeyPairExists", NovaException, "Key pair '%(key_name)s' already exists.", 409
)
KeypairLimitExceeded = define(
    "KeypairLimitExceeded", QuotaError, "Maximum number of key pairs exceeded"
)
