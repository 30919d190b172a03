"""Keystone's v3 API as `responses` stubs: token bodies shaped like Keystone's own answers."""

import datetime
import json

import responses

KEYSTONE = "http://keystone.test:5000"
TOKENS = KEYSTONE + "/v3/auth/tokens"
PROJECT = "6f70656e737461636b20342065766572"


def expires_in(seconds):
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def token_body(
    user_id="u-demo",
    user_name="demo",
    project_id=PROJECT,
    project_name="demo",
    roles=("member", "reader"),
    expires=3600,
):
    """GET/POST /v3/auth/tokens as Keystone answers them."""
    return {
        "token": {
            "methods": ["password"],
            "audit_ids": ["3T2dc1CGQxyJsHdDu1xkcw"],
            "expires_at": expires_in(expires),
            "issued_at": expires_in(0),
            "is_domain": False,
            "user": {
                "id": user_id,
                "name": user_name,
                "password_expires_at": None,
                "domain": {"id": "default", "name": "Default"},
            },
            "project": {
                "id": project_id,
                "name": project_name,
                "domain": {"id": "default", "name": "Default"},
            },
            "roles": [{"id": "r-%s" % role, "name": role} for role in roles],
            "catalog": [
                {
                    "type": "compute",
                    "name": "nova",
                    "id": "c1",
                    "endpoints": [
                        {
                            "interface": "public",
                            "region": "RegionOne",
                            "region_id": "RegionOne",
                            "id": "e1",
                            "url": "http://127.0.0.1:8774/v2/%s" % project_id,
                        }
                    ],
                }
            ],
        }
    }


NOT_FOUND = {"error": {"code": 404, "title": "Not Found", "message": "Failed to validate token"}}
UNAUTHORIZED = {
    "error": {
        "code": 401,
        "title": "Unauthorized",
        "message": "The request you have made requires authentication.",
    }
}


def stub_validation(tokens):
    """GET /v3/auth/tokens: 200 for the tokens in ``tokens`` (token -> body), else 404."""

    def answer(request):
        subject = request.headers.get("X-Subject-Token")
        if request.headers.get("X-Auth-Token") not in tokens:
            return 401, {}, json.dumps(UNAUTHORIZED)
        if subject not in tokens:
            return 404, {}, json.dumps(NOT_FOUND)
        return 200, {"X-Subject-Token": subject}, json.dumps(tokens[subject])

    responses.add_callback(responses.GET, TOKENS, callback=answer)
