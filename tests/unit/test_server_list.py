"""GET /servers' query string as each contract reads it (refnova/api/openstack/compute/
server_list.py): the pieces the fixtures reach only through whole requests."""

import datetime

import pytest
import webob

from refnova.api.openstack import common
from refnova.api.openstack.compute import server_list
from refnova.context import RequestContext
from refnova.exception import ApiError

USER = RequestContext(user_id="demo", project_id="p1")
ADMIN = RequestContext(user_id="admin", project_id="p1", is_admin=True)


def filters(query, context=USER, rules=server_list.ICEHOUSE, detail=False):
    req = webob.Request.blank("/v2/p1/servers?" + query)
    return server_list.filters_from_query(req, context, rules, detail)


def test_a_user_s_unknown_filters_are_dropped_and_an_admin_s_kept_out_of_the_query():
    found = filters("host=compute1&name=^a&deleted=true")
    assert found.name == "^a" and found.deleted is False and found.project_id == "p1"
    assert filters("deleted=true", ADMIN).deleted is True


def test_status_is_read_without_case_and_an_unknown_one_lists_nothing():
    assert filters("status=active").vm_states == ("active",)
    assert filters("status=ACTIVE&status=shutoff").vm_states == ("active", "stopped")
    assert filters("status=BOGUS") is None
    assert filters("status=REBOOT") is None  # a task no refnova server is doing


def test_status_deleted_is_for_admins():
    with pytest.raises(ApiError) as raised:
        filters("status=DELETED")
    assert (raised.value.status, raised.value.message) == (
        403,
        "Only administrators may list deleted instances",
    )
    assert filters("status=DELETED", ADMIN).deleted is True


def test_changes_since_also_lists_deleted_servers_unless_deleted_says_otherwise():
    found = filters("changes-since=2014-04-17T10:00:00Z")
    assert found.deleted is None
    assert found.changes_since == datetime.datetime(2014, 4, 17, 10, 0)
    offset = filters("changes-since=2014-04-17T12:00:00%2B02:00")
    assert offset.changes_since == datetime.datetime(2014, 4, 17, 10, 0)


def test_each_contract_s_text_for_a_bad_changes_since_or_limit():
    with pytest.raises(ApiError, match="^Invalid changes-since value$"):
        filters("changes-since=yesterday")
    with pytest.raises(ApiError, match="is not a 'date-time'"):
        filters("changes-since=2014-04-17", rules=server_list.TODAY)
    assert filters("changes-since=2014-04-17").changes_since == datetime.datetime(2014, 4, 17)
    with pytest.raises(ApiError, match="^limit param must be positive$"):
        filters("limit=-1")
    with pytest.raises(ApiError, match=r"does not match '\^\[0-9\]\*\$'"):
        filters("limit=-1", rules=server_list.TODAY)
    assert filters("limit=5000").limit == common.MAX_LIMIT


def test_all_tenants_a_user_keeps_their_project_on_v2_and_is_refused_on_v21():
    assert filters("all_tenants=1").project_id is None  # the compute API narrows it
    assert filters("all_tenants=0").project_id == "p1"
    assert filters("all_tenants=1", ADMIN, server_list.TODAY).project_id is None
    with pytest.raises(ApiError) as raised:
        filters("all_tenants=1", rules=server_list.TODAY, detail=True)
    assert raised.value.message == (
        "Policy doesn't allow os_compute_api:servers:detail:get_all_tenants to be performed."
    )


def test_deleted_icehouse_passes_any_text_on_today_reads_a_boolean():
    assert server_list.icehouse_deleted("false") is True
    assert server_list.today_deleted("false") is False
    assert server_list.today_deleted("True") is True
