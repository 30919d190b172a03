"""The NovaException family, with Nova 2014.1's message templates and class codes.

How an exception becomes an HTTP answer is not decided here: each API contract keeps one
table for that (``refnova.api.openstack.compute.errors``).
"""

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


class ApiError(Exception):
    """An HTTP error raised by the API layer itself (Nova's ``webob.exc.HTTP*``).

    Without a message it carries WebOb's default explanation for its status.
    """

    def __init__(self, status, message=None, headers=None, details=None):
        self.status = status
        self.message = GENERIC_TEXT.get(status, "") if message is None else message
        self.headers = dict(headers or {})
        self.details = details  # the rate limiter's extra fault field
        super().__init__(self.message)


class NovaException(Exception):
    msg_fmt = "An unknown exception occurred."
    code = 500
    headers = {}
    safe = False

    def __init__(self, message=None, **kwargs):
        self.kwargs = {"code": self.code, **kwargs}
        if message is None:
            try:
                message = self.msg_fmt % self.kwargs
            except (KeyError, TypeError, ValueError):
                # Nova logs the formatting problem and falls back to the raw template.
                message = self.msg_fmt
        self.message = str(message)
        super().__init__(self.message)

    def format_message(self):
        return self.message


def _define(name, parent, msg_fmt, code=None, **attrs):
    body = {"msg_fmt": msg_fmt, **attrs}
    if code is not None:
        body["code"] = code
    return type(name, (parent,), body)


Invalid = _define("Invalid", NovaException, "Unacceptable parameters.", 400)
NotFound = _define("NotFound", NovaException, "Resource could not be found.", 404)
NotAuthorized = _define("NotAuthorized", NovaException, "Not authorized.", 403)
PolicyNotAuthorized = _define(
    "PolicyNotAuthorized", NotAuthorized, "Policy doesn't allow %(action)s to be performed."
)
InvalidInput = _define("InvalidInput", Invalid, "Invalid input received: %(reason)s")
InvalidRequest = _define("InvalidRequest", Invalid, "The request is invalid.")
InvalidMetadata = _define("InvalidMetadata", Invalid, "Invalid metadata: %(reason)s")
InvalidMetadataSize = _define("InvalidMetadataSize", Invalid, "Invalid metadata size: %(reason)s")
# Where Icehouse answered a bare ``HTTPBadRequest`` (WebOb's own text), the layers below the
# API raise this; every contract's error table turns it into that same answer.
MalformedInput = _define("MalformedInput", Invalid, GENERIC_TEXT[400])

QuotaError = _define(
    "QuotaError",
    NovaException,
    "Quota exceeded: code=%(code)s",
    413,
    headers={"Retry-After": 0},
    safe=True,
)
TooManyInstances = _define(
    "TooManyInstances",
    QuotaError,
    "Quota exceeded for %(overs)s: Requested %(req)s, but already used %(used)d "
    "of %(allowed)d %(resource)s",
)
MetadataLimitExceeded = _define(
    "MetadataLimitExceeded", QuotaError, "Maximum number of metadata items exceeds %(allowed)d"
)
OnsetFileLimitExceeded = _define(
    "OnsetFileLimitExceeded", QuotaError, "Personality file limit exceeded"
)
OnsetFilePathLimitExceeded = _define(
    "OnsetFilePathLimitExceeded", QuotaError, "Personality file path too long"
)
OnsetFileContentLimitExceeded = _define(
    "OnsetFileContentLimitExceeded", QuotaError, "Personality file content too long"
)
PortLimitExceeded = _define("PortLimitExceeded", QuotaError, "Maximum number of ports exceeded")
OverQuota = _define("OverQuota", NovaException, "Quota exceeded for resources: %(overs)s")

ImageNotFound = _define("ImageNotFound", NotFound, "Image %(image_id)s could not be found.")
ImageNotActive = _define("ImageNotActive", NovaException, "Image %(image_id)s is not active.")
ImageNotAuthorized = _define(
    "ImageNotAuthorized", NovaException, "Not authorized for image %(image_id)s."
)
FlavorNotFound = _define("FlavorNotFound", NotFound, "Flavor %(flavor_id)s could not be found.")
FlavorDiskTooSmall = _define(
    "FlavorDiskTooSmall", NovaException, "Flavor's disk is too small for requested image."
)
FlavorMemoryTooSmall = _define(
    "FlavorMemoryTooSmall", NovaException, "Flavor's memory is too small for requested image."
)
KeypairNotFound = _define(
    "KeypairNotFound", NotFound, "Keypair %(name)s not found for user %(user_id)s"
)
ConfigDriveInvalidValue = _define(
    "ConfigDriveInvalidValue", Invalid, "Invalid value for Config Drive option: %(option)s"
)
AutoDiskConfigDisabledByImage = _define(
    "AutoDiskConfigDisabledByImage",
    Invalid,
    "Requested image %(image)s has automatic disk resize disabled.",
)
InstanceUserDataTooLarge = _define(
    "InstanceUserDataTooLarge",
    NovaException,
    "User data too large. User data must be no larger than %(maxsize)s bytes once base64 "
    "encoded. Your data is %(length)d bytes",
)
InstanceUserDataMalformed = _define(
    "InstanceUserDataMalformed", NovaException, "User data needs to be valid base 64."
)
MultiplePortsNotApplicable = _define(
    "MultiplePortsNotApplicable", Invalid, "Failed to launch instances: %(reason)s"
)
# Not in Icehouse: today's compute API rejects a fixed IP for several instances.
InvalidFixedIpAndMaxCountRequest = _define(
    "InvalidFixedIpAndMaxCountRequest", Invalid, "Failed to launch instances: %(reason)s"
)
NetworkNotFound = _define("NetworkNotFound", NotFound, "Network %(network_id)s could not be found.")
NetworkDuplicated = _define("NetworkDuplicated", Invalid, "Network %(network_id)s is duplicated.")
NetworkAmbiguous = _define(
    "NetworkAmbiguous",
    Invalid,
    "More than one possible network found. Specify network ID(s) to select which one(s) "
    "to connect to,",
)
NetworkRequiresSubnet = _define(
    "NetworkRequiresSubnet",
    Invalid,
    "Network %(network_uuid)s requires a subnet in order to boot instances on.",
)
PortNotFound = _define("PortNotFound", NotFound, "Port id %(port_id)s could not be found.")
PortInUse = _define("PortInUse", Invalid, "Port %(port_id)s is still in use.")
PortRequiresFixedIP = _define(
    "PortRequiresFixedIP", Invalid, "Port %(port_id)s requires a FixedIP in order to be used."
)
NoUniqueMatch = _define("NoUniqueMatch", NovaException, "No Unique Match Found.", 409)
SecurityGroupNotFound = _define(
    "SecurityGroupNotFound", NotFound, "Security group %(security_group_id)s not found."
)
SecurityGroupNotFoundForProject = _define(
    "SecurityGroupNotFoundForProject",
    SecurityGroupNotFound,
    "Security group %(security_group_id)s not found for project %(project_id)s.",
)

InvalidBDM = _define("InvalidBDM", Invalid, "Block Device Mapping is Invalid.")
InvalidBDMSnapshot = _define(
    "InvalidBDMSnapshot",
    InvalidBDM,
    "Block Device Mapping is Invalid: failed to get snapshot %(id)s.",
)
InvalidBDMVolume = _define(
    "InvalidBDMVolume", InvalidBDM, "Block Device Mapping is Invalid: failed to get volume %(id)s."
)
InvalidBDMImage = _define(
    "InvalidBDMImage", InvalidBDM, "Block Device Mapping is Invalid: failed to get image %(id)s."
)
InvalidBDMBootSequence = _define(
    "InvalidBDMBootSequence",
    InvalidBDM,
    "Block Device Mapping is Invalid: Boot sequence for the instance and image/block device "
    "mapping combination is not valid.",
)
InvalidBDMLocalsLimit = _define(
    "InvalidBDMLocalsLimit",
    InvalidBDM,
    "Block Device Mapping is Invalid: You specified more local devices than the limit allows",
)
InvalidBDMEphemeralSize = _define(
    "InvalidBDMEphemeralSize",
    InvalidBDM,
    "Ephemeral disks requested are larger than the instance type allows.",
)
InvalidBDMSwapSize = _define(
    "InvalidBDMSwapSize", InvalidBDM, "Swap drive requested is larger than instance type allows."
)
InvalidBDMFormat = _define(
    "InvalidBDMFormat", InvalidBDM, "Block Device Mapping is Invalid: %(details)s"
)
InstanceGroupNotFound = _define(
    "InstanceGroupNotFound", NotFound, "Instance group %(group_uuid)s could not be found."
)
NoValidHost = _define("NoValidHost", NovaException, "No valid host was found. %(reason)s")
InstanceNotFound = _define(
    "InstanceNotFound", NotFound, "Instance %(instance_id)s could not be found."
)
ServiceUnavailable = _define(
    "ServiceUnavailable", NovaException, "Service unavailable: %(reason)s", 503
)
