"""The tracing cost counted in interpreter instructions: ``python -m benchmarks.tracing_work``.

The ``tracing`` ratio is taken on the thread CPU clock, which a busy machine moves by several
hundredths from one run to the next. This counts, for the same three kinds of round
(``tracing_probe.Rounds``: untraced create, span floor, traced create), the bytecode
instructions the interpreter executes (``sys.settrace`` with opcode events, this thread only),
a count no other process changes. It prints them per round, (traced - untraced) / floor on
that count, and the source files whose count differs most between (traced - untraced) and the
floor.

Code in C (builtins, the SQLite driver, dict and string work inside one instruction) runs no
opcodes, so this is the Python-level work only. With ``--gc-rounds N`` it also times N rounds
of each kind on the thread CPU clock, the garbage collector paused in every other block of
rounds, and prints the ratio both ways (the collector's share of it), how often the collector
ran in the rounds of each kind and what one young collection cost there (benchmarks/README.md,
"The target not met, and why"). With ``--interleaved-rounds N`` it times the floor's span tree
with other work between its spans (``Interleaved``) against the floor as the probe makes it, in
its tight loop.
"""

import argparse
import collections
import gc
import os
import statistics
import sys
import sysconfig
import tempfile
import time

from benchmarks import tracing_probe

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PREFIXES = tuple(
    path + os.sep
    for path in (sysconfig.get_paths()["purelib"], sysconfig.get_paths()["stdlib"], ROOT)
)


def where(filename):
    """A source file's name as a reader finds it: inside the repository or the packages."""
    for prefix in _PREFIXES:
        if filename.startswith(prefix):
            return filename[len(prefix) :]
    return filename


def opcodes(function, rounds):
    """{source file: instructions per call} of ``function``, over ``rounds`` calls."""
    counted = collections.Counter()

    def trace(frame, event, arg):
        frame.f_trace_opcodes = True
        if event == "opcode":
            counted[frame.f_code.co_filename] += 1
        return trace

    sys.settrace(trace)
    try:
        for _ in range(rounds):
            function()
    finally:
        sys.settrace(None)
    return {where(name): total / rounds for name, total in counted.items()}


class Collections:
    """The collector's runs (``gc.callbacks``) in the rounds of each kind: how many of each
    generation, their CPU time, and how many rounds saw at least one."""

    def __init__(self, kinds):
        self.runs = {name: [0, 0, 0] for name in kinds}
        self.seconds = {name: [0.0, 0.0, 0.0] for name in kinds}
        self.rounds_with = {name: 0 for name in kinds}
        self.rounds = {name: 0 for name in kinds}
        # With the collector paused: container objects allocated less those freed, a round.
        self.counted = {name: [] for name in kinds}
        self.kind = None
        self._started = 0.0
        self._seen = False

    def __call__(self, phase, info):
        if self.kind is None:
            return
        if phase == "start":
            self._started = time.thread_time()
            return
        generation = info["generation"]
        self.runs[self.kind][generation] += 1
        self.seconds[self.kind][generation] += time.thread_time() - self._started
        self._seen = True

    def begin(self, kind):
        """Count what runs until ``end`` as a round of ``kind`` (None: not at all)."""
        self.kind, self._seen = kind, False

    def end(self):
        if self.kind is not None:
            self.rounds[self.kind] += 1
            self.rounds_with[self.kind] += self._seen
        self.kind = None

    def report(self):
        print(
            "container objects a round (allocated - freed, collector paused): "
            + ", ".join(
                "%s %.0f" % (name, statistics.median(values))
                for name, values in self.counted.items()
                if values
            )
        )
        for name, runs in self.runs.items():
            rounds = max(self.rounds[name], 1)
            young = (self.seconds[name][0] / runs[0] * 1e6) if runs[0] else 0.0
            print(
                "collections a round, %s: %.3f / %.3f / %.3f (generation 0 / 1 / 2), "
                "in %.0f%% of its rounds; a generation-0 collection %.0f us"
                % (
                    name,
                    *(count / rounds for count in runs),
                    100.0 * self.rounds_with[name] / rounds,
                    young,
                )
            )


# Rounds in a row with the collector on, then as many with it paused, and so on: within a
# block it runs as in the probe (a collection made just before each block, outside the timings,
# so that what a paused block allocated is not collected in the next one).
BLOCK = 20


def with_and_without_gc(rounds, kinds, count):
    """{"gc": medians, "no gc": medians} (us, thread CPU clock) of ``count`` rounds each, in
    alternating blocks of ``BLOCK`` rounds with the collector on and paused, the order of the
    kinds reversed every round; and the ``Collections`` of the rounds with it on."""
    cpu = {paused: {name: [] for name in kinds} for paused in (False, True)}
    seen = Collections(kinds)
    gc.callbacks.append(seen)
    order = list(kinds.items())
    try:
        for index in range(2 * count):
            rounds.between(index)
            paused = (index // BLOCK) % 2 == 1
            if index % BLOCK == 0:
                gc.enable()
                gc.collect()
                if paused:
                    gc.disable()
            for name, function in order if index % 2 == 0 else order[::-1]:
                rounds.use(name)
                seen.begin(None if paused else name)
                counted = gc.get_count()[0]
                start = time.thread_time()
                function()
                cpu[paused][name].append(time.thread_time() - start)
                seen.end()
                if paused:
                    seen.counted[name].append(gc.get_count()[0] - counted)
    finally:
        gc.enable()
        gc.callbacks.remove(seen)
    medians = {
        "no gc" if paused else "gc": {
            name: statistics.median(values) * 1e6 for name, values in samples.items()
        }
        for paused, samples in cpu.items()
    }
    return medians, seen


class Interleaved:
    """The floor's span tree made with other work between its spans: before each span, a walk
    over 1,500 of 60,000 small dicts (pointer chasing, as the request's own code does between
    two of its spans), the next 1,500 each time. The walks of one tree take about as long as
    an untraced create."""

    WALKED, HELD = 1500, 60000

    def __init__(self, rounds):
        self._tracer = rounds._floor_tracer  # the floor's own tracer, on the same provider
        self.tree = rounds.tree
        self.spans = tracing_probe.count(self.tree)
        self._held = [{"key": index % 7, "text": str(index)} for index in range(self.HELD)]
        self._next = 0

    def walk(self):
        start = self._next
        sizes = 0
        for item in self._held[start : start + self.WALKED]:
            sizes += len(item)
        self._next = (start + self.WALKED) % (self.HELD - self.WALKED)
        return sizes

    def walks(self):
        """The walks alone, as many as ``floor`` makes."""
        for _ in range(self.spans):
            self.walk()

    def floor(self, tree=None):
        """``floors.spans`` with a walk before each span."""
        for name, kind, attributes, children in self.tree if tree is None else tree:
            self.walk()
            if children:
                with self._tracer.start_as_current_span(name, kind=kind, attributes=attributes):
                    self.floor(children)
            else:
                self._tracer.start_span(name, kind=kind, attributes=attributes).end()


def interleaved_floor(rounds, count):
    """Medians (us, thread CPU clock) of the floor, the floor with work between its spans and
    that work alone, ``count`` rounds each, the collector paused (a collection every 10 rounds,
    outside the timings): what the same SDK calls cost between other work."""
    interleaved = Interleaved(rounds)
    kinds = {"floor": rounds.floor, "interleaved": interleaved.floor, "walks": interleaved.walks}
    cpu = {name: [] for name in kinds}
    order = list(kinds.items())
    gc.disable()
    try:
        for index in range(count):
            rounds.between(index)
            if index % 10 == 0:
                gc.collect()
            for name, function in order if index % 2 == 0 else order[::-1]:
                start = time.thread_time()
                function()
                cpu[name].append(time.thread_time() - start)
    finally:
        gc.enable()
    return {name: statistics.median(values) * 1e6 for name, values in cpu.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--top", type=int, default=12, help="how many files to list")
    parser.add_argument(
        "--gc-rounds", type=int, default=0, help="rounds timed with and without the collector"
    )
    parser.add_argument(
        "--interleaved-rounds",
        type=int,
        default=0,
        help="rounds of the floor timed with other work between its spans",
    )
    args = parser.parse_args(argv)
    rounds = tracing_probe.Rounds(tempfile.mkdtemp(prefix="refnova-tracing-work-"))
    kinds = {"untraced": rounds.untraced, "floor": rounds.floor, "traced": rounds.traced}
    counts = {}
    for _ in range(5):
        for name, function in kinds.items():
            rounds.use(name)
            function()
    for name, function in kinds.items():
        rounds.use(name)
        counts[name] = opcodes(function, args.rounds)
    timed, collections_seen = (
        with_and_without_gc(rounds, kinds, args.gc_rounds) if args.gc_rounds else ({}, None)
    )
    between = (
        interleaved_floor(rounds, args.interleaved_rounds) if args.interleaved_rounds else None
    )
    rounds.close()
    untraced, floor, traced = (sum(counts[name].values()) for name in kinds)
    print("opcodes per round: untraced %.0f, traced %.0f, floor %.0f" % (untraced, traced, floor))
    print("tracing on opcodes: (traced - untraced) / floor = %.3f" % ((traced - untraced) / floor))
    files = set().union(*counts.values())
    excess = {
        name: counts["traced"].get(name, 0)
        - counts["untraced"].get(name, 0)
        - counts["floor"].get(name, 0)
        for name in files
    }
    print("(traced - untraced) - floor, by file:")
    for name in sorted(files, key=lambda name: -abs(excess[name]))[: args.top]:
        print("%+8.0f  %s" % (excess[name], name))
    for label, medians in timed.items():
        print(
            "cpu clock, %s: untraced %.0f us, traced %.0f us, floor %.0f us: tracing %.3f"
            % (
                label,
                medians["untraced"],
                medians["traced"],
                medians["floor"],
                (medians["traced"] - medians["untraced"]) / medians["floor"],
            )
        )
    if collections_seen is not None:
        collections_seen.report()
    if between is not None:
        print(
            "floor %.0f us; with work between its spans %.0f us, the work alone %.0f us: "
            "its spans cost %.3f times the tight loop's"
            % (
                between["floor"],
                between["interleaved"],
                between["walks"],
                (between["interleaved"] - between["walks"]) / between["floor"],
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
