"""The waterfall page's markup without a browser: the time axis, the escaping of every span
text, the inlined assets (tests/functional/test_trace_waterfall.py drives it in Chromium)."""

import html
import re

import pytest

from refnova.tracing import waterfall
from refnova.tracing.files import SpanRecord

HOSTILE = '</script><img src=x onerror="alert(1)">&amp;</style>'


def record(**fields):
    values = dict(
        trace_id="ab" * 16,
        span_id="cd" * 8,
        parent_id=None,
        name="span",
        kind="INTERNAL",
        start_ns=0,
        end_ns=1_000_000,
    )
    values.update(fields)
    return SpanRecord(**values)


@pytest.mark.parametrize(
    "total_ms, step, last",
    [(20.114, 5, "20 ms"), (65.2, 10, "60 ms"), (1.0, 0.2, "1.0 ms"), (0.003, 0.0005, "0.0030 ms")],
)
def test_time_ticks_are_round_steps_from_zero_to_the_trace_s_end(total_ms, step, last):
    ticks = waterfall.time_ticks(int(total_ms * 1e6))
    assert ticks[0][0] == 0.0 and float(ticks[0][1].split()[0]) == 0
    assert ticks[-1][1] == last and ticks[-1][0] <= 100.0
    assert 4 <= len(ticks) <= waterfall.TICKS + 1
    values = [float(label.split()[0]) for _left, label in ticks]
    assert all(abs(b - a - step) < 1e-9 for a, b in zip(values, values[1:], strict=False))


def test_every_text_from_a_span_is_escaped():
    hostile = record(
        name=HOSTILE,
        kind="SERVER",
        attributes={HOSTILE: HOSTILE, "http.response.status_code": 500, "error.type": HOSTILE},
        status="ERROR",
        status_message=HOSTILE,
        events=[
            {"name": "exception", "time_ns": 1, "attributes": {"exception.type": HOSTILE}},
            {"name": HOSTILE, "time_ns": 2, "attributes": {HOSTILE: HOSTILE}},
        ],
        resource={"service.name": HOSTILE},
        trace_id=HOSTILE,
        span_id=HOSTILE,
    )
    page = waterfall.to_html([hostile], title=HOSTILE)
    assert "<img" not in page and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert page.count("</script>") == 1 and page.count("</style>") == 1
    assert "&amp;amp;" in page  # escaped once more, shown as it was
    assert html.escape(HOSTILE) in page


def test_the_page_is_one_self_contained_file():
    page = waterfall.to_html([record(), record(span_id="ef" * 8, parent_id="cd" * 8)])
    assert page.count("<style>") == 1 and page.count("<script>") == 1
    for asset in ("waterfall.css", "waterfall.js"):
        assert waterfall.asset(asset) in page
    for fetch in ("<link", "@import", "url(", "src=", "href=", "http://", "https://", "fetch("):
        assert fetch not in page, fetch
    assert "${" not in page  # every placeholder filled
    assert len(re.findall(r'<button type="button" class="toggle"', page)) == 1


def test_an_asset_that_could_end_its_element_is_refused():
    with pytest.raises(ValueError, match="no asset"):
        waterfall.asset("../views.py")
    with pytest.raises(ValueError, match="must not contain"):
        waterfall.inlinable("waterfall.js", 'var end = "</script>";')
    assert waterfall.inlinable("waterfall.css", "a{}") == "a{}"
