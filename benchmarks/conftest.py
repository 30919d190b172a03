"""The benchmark harness: rounds per mode, interleaved path/floor timing, the ratio lines.

Run with ``tox -e bench`` (full) or ``python -m benchmarks.gate --quick`` (CI); see README.md.
"""

import gc
import json
import statistics
import time

import pytest

from benchmarks import ratios, support


def pytest_addoption(parser):
    group = parser.getgroup("refnova benchmarks")
    group.addoption(
        "--bench-quick",
        action="store_true",
        default=False,
        help="CI's quick mode: few rounds, bounded time",
    )
    group.addoption(
        "--bench-json",
        metavar="PATH",
        default=None,
        help="also write the samples' medians, ratios and figures as JSON",
    )


class Results:
    """What the suites measured: per-round samples on each clock ({clock: {name: [s]}}),
    figures, and what was skipped and why."""

    def __init__(self, quick):
        self.quick = quick
        self.samples = {clock: {} for clock in ratios.CLOCKS}
        self.figures = {}
        self.skipped = {}

    def record(self, name, wall, cpu):
        self.samples["wall"][name] = list(wall)
        self.samples["cpu"][name] = list(cpu)

    def rounds(self, full, quick):
        return quick if self.quick else full


def pytest_configure(config):
    config._refnova_bench = Results(config.getoption("--bench-quick"))


@pytest.fixture(scope="session")
def results(request):
    return request.config._refnova_bench


@pytest.fixture(scope="session")
def world():
    return support.bench_world()


@pytest.fixture(scope="session")
def raw_body(world):
    return support.typical_body(world)


def interleaved(benchmark, results, prefix, path, companions, rounds, warmup, between=None):
    """Time ``path`` with pytest-benchmark, and each companion (its floors) once per round
    just before it, so that path and floors share whatever the machine is doing.

    Each round is timed on both clocks (wall: pytest-benchmark's; cpu: the thread's CPU
    time). Samples land in ``results`` as ``<prefix>.path`` and ``<prefix>.<companion>``.
    """
    wall = {name: [] for name in companions}
    cpu = {name: [] for name in companions}
    path_cpu = []
    timer, cpu_timer = time.perf_counter, time.thread_time

    def setup():
        if between is not None:
            between()
        for name, function in companions.items():
            cpu_start = cpu_timer()
            start = timer()
            function()
            wall[name].append(timer() - start)
            cpu[name].append(cpu_timer() - cpu_start)

    def timed_path():
        cpu_start = cpu_timer()
        path()
        path_cpu.append(cpu_timer() - cpu_start)

    gc.collect()
    benchmark.pedantic(timed_path, setup=setup, rounds=rounds, warmup_rounds=warmup)
    results.record(prefix + ".path", benchmark.stats.stats.data, path_cpu[warmup : warmup + rounds])
    benchmark.extra_info["cpu_median_s"] = statistics.median(path_cpu[warmup : warmup + rounds])
    for name in companions:
        results.record("%s.%s" % (prefix, name), wall[name][warmup:], cpu[name][warmup:])
        benchmark.extra_info[name + "_median_s"] = statistics.median(wall[name][warmup:])
        benchmark.extra_info[name + "_cpu_median_s"] = statistics.median(cpu[name][warmup:])


def every(n, action):
    """A ``between`` hook that runs ``action`` once every ``n`` rounds."""
    count = [0]

    def hook():
        count[0] += 1
        if count[0] % n == 0:
            action()

    return hook


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    bench = config._refnova_bench
    if not bench.samples["wall"] and not bench.skipped:
        return
    terminalreporter.section("refnova ratios (median path / median floor, interleaved)")
    for name in sorted(bench.samples["wall"]):
        wall, cpu = bench.samples["wall"][name], bench.samples["cpu"].get(name) or [float("nan")]
        terminalreporter.write_line(
            "# %-32s median %9.1f us wall %9.1f us cpu  (%d rounds)"
            % (name, statistics.median(wall) * 1e6, statistics.median(cpu) * 1e6, len(wall))
        )
    out = ratios.lines(bench.samples, bench.skipped, bench.figures)
    for line in out:
        terminalreporter.write_line(line)
    path = config.getoption("--bench-json")
    if path:
        document = {
            "mode": "quick" if bench.quick else "full",
            "medians_s": {
                clock: {name: statistics.median(v) for name, v in samples.items()}
                for clock, samples in bench.samples.items()
            },
            "rounds": {name: len(v) for name, v in bench.samples["wall"].items()},
            "ratios": {
                name: {"value": value, "target": target, "skipped": reason}
                for name, value, target, reason in ratios.compute(bench.samples, bench.skipped)
            },
            "figures": {
                name: {"value": value, "unit": unit}
                for name, (value, unit) in {
                    **ratios.figures_from(bench.samples),
                    **bench.figures,
                }.items()
            },
            "skipped": bench.skipped,
        }
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2, sort_keys=True)
