"""noauth2-style authentication: the caller names its user and project."""
from refnova.context import RequestContext, generate_request_id

ADMIN_USER = "admin"


def context_from_headers(headers, remote_address=None):
    """A RequestContext from ``X-Auth-Token: user:project`` or X-Auth-User/X-Auth-Project-Id.

    None when the request carries no credentials.
    """
    token = headers.get("X-Auth-Token")
    user_id = project_id = None
    if token and ":" in token:
        user_id, project_id = token.split(":", 1)
    else:
        user_id = headers.get("X-Auth-User") or headers.get("X-User-Id")
        project_id = headers.get("X-Auth-Project-Id") or headers.get("X-Tenant-Id")
    if not user_id or not project_id:
        return None
    is_admin = user_id == ADMIN_USER
    return RequestContext(user_id=user_id, project_id=project_id,
                          roles=["admin"] if is_admin else ["member"], is_admin=is_admin,
                          request_id=generate_request_id(), auth_token=token,
                          remote_address=remote_address, user_name=user_id,
                          project_name=project_id)
