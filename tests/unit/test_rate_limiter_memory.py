"""The /v2 rate limiter forgets idle users: its memory is bounded however many users come."""

import tracemalloc

from refnova.api.openstack.ratelimit import RATE_LIMITED_USERS, RateLimiter


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_sixty_thousand_distinct_users_leave_it_bounded():
    clock = Clock()
    limiter = RateLimiter({"POST": 120}, clock=clock)
    for number in range(60000):
        assert limiter.check("POST", "user-%d" % number) is None
    assert limiter.tracked_users() == RATE_LIMITED_USERS < 60000


def test_a_user_idle_for_a_minute_is_forgotten():
    clock = Clock()
    limiter = RateLimiter({"POST": 120}, clock=clock)
    for number in range(500):
        limiter.check("POST", "user-%d" % number)
    clock.now += 30
    limiter.check("POST", "recent")
    clock.now += 30  # the first 500 are a minute old, "recent" half a minute
    limiter.check("POST", "another")
    assert limiter.tracked_users() == 2
    clock.now += 61
    limiter.check("GET", "reader")  # a GET is not limited and leaves nothing behind
    limiter.check("POST", "last")
    assert limiter.tracked_users() == 1


def test_an_active_user_is_still_limited_while_others_come_and_go():
    clock = Clock()
    limiter = RateLimiter({"POST": 3}, clock=clock, max_users=100)
    for _ in range(3):
        assert limiter.check("POST", "busy") is None
    for number in range(50):
        clock.now += 0.1
        limiter.check("POST", "passer-%d" % number)
    assert limiter.check("POST", "busy") is not None
    clock.now += 60
    assert limiter.check("POST", "busy") is None


def test_a_soak_of_a_hundred_thousand_mixed_requests_keeps_its_memory_flat():
    """100,000 requests, a millisecond apart: POSTs from ever new users, POSTs from a few
    regulars, GETs. Its memory after the second 50,000 is what it was after the first."""
    clock = Clock()
    limiter = RateLimiter({"POST": 10}, clock=clock)

    def requests(start, stop):
        for number in range(start, stop):
            clock.now += 0.001
            if number % 3 == 0:
                limiter.check("GET", "reader-%d" % number)
            elif number % 3 == 1:
                limiter.check("POST", "regular-%d" % (number % 7))
            else:
                limiter.check("POST", "newcomer-%d" % number)

    tracemalloc.start()
    try:
        requests(0, 50000)
        halfway, _ = tracemalloc.get_traced_memory()
        requests(50000, 100000)
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert limiter.tracked_users() <= RATE_LIMITED_USERS
    assert after - halfway < 256 * 1024, "grew by %d bytes" % (after - halfway)
