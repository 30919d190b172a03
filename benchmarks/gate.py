"""The benchmarks' regression gate: run the suites, read the ratio lines, judge them.

    python -m benchmarks.gate [--quick] [--margin M] [--require-services] [--ratios a,b]
                              [--from FILE] [-- PYTEST_ARGS...]

It runs ``python -m pytest benchmarks`` (``--bench-quick`` with ``--quick``), echoes its output,
then reads every ``ratio <name> <value> target <target>`` line and fails (exit 1) when

- a ratio exceeds ``target * (1 + margin)``, or for a target known to be missed (ratios.KNOWN_GAPS)
  ``ceiling * (1 + margin)``, the ceiling being the level recorded with the reason; a ratio
  where more is better (ratios.AT_LEAST) falls below ``target / (1 + margin)``;
- a ratio of the table (or of ``--ratios``) is missing, or the suite could not compute it;
- a ratio was skipped (a service absent) while ``--require-services`` is given;
- the benchmark run itself failed.

The default margin, 0.25, is the noise allowance documented in benchmarks/README.md: on a
shared 2-core machine, the ratios of repeated quick runs spread by up to about +-15% of
their median. ``--from FILE`` judges saved output instead of running anything (``-`` is stdin).
"""

import argparse
import os
import re
import subprocess
import sys

from benchmarks.ratios import AT_LEAST, KNOWN_GAPS, TARGETS

DEFAULT_MARGIN = 0.25
RATIO_LINE = re.compile(r"^ratio (\S+) (\S+) target (\S+)\s*$")
SKIP_LINE = re.compile(r"^skip (\S+) (.*)$")


def parse(text):
    """({name: (value, target)}, {name: reason}) from a run's output."""
    found, skipped = {}, {}
    for line in text.splitlines():
        line = line.strip()
        match = RATIO_LINE.match(line)
        if match:
            found[match.group(1)] = (float(match.group(2)), float(match.group(3)))
            continue
        match = SKIP_LINE.match(line)
        if match:
            skipped[match.group(1)] = match.group(2)
    return found, skipped


def judge(found, skipped, margin, expected, require_services, known_gaps=None):
    """(passed, report lines): one line per expected ratio, then the verdict."""
    known_gaps = KNOWN_GAPS if known_gaps is None else known_gaps
    report, failed = [], False
    for name in expected:
        if name in found:
            value, target = found[name]
            ceiling, reason = known_gaps.get(name, (target, None))
            # A ratio where more is better is judged as its inverse: the same rules, mirrored.
            flip = (lambda x: 1 / max(x, 1e-9)) if name in AT_LEAST else (lambda x: x)
            over, times = ("under", "/") if name in AT_LEAST else ("over", "x")
            bound = flip(max(flip(target), flip(ceiling)))
            limit = flip(flip(bound) * (1 + margin))
            if flip(value) > flip(limit):
                status, failed = (
                    "FAIL (%s %.3f = %s %s %s %.2f)"
                    % (
                        over,
                        limit,
                        "recorded gap" if reason else "target",
                        bound,
                        times,
                        1 + margin,
                    ),
                    True,
                )
            elif flip(value) > flip(target) and reason:
                status = "target missed (known: %s); regression limit %.3f" % (reason, limit)
            elif flip(value) > flip(target):
                status = "%s target, within the noise margin (limit %.3f)" % (over, limit)
            else:
                status = "ok"
            report.append("gate %-20s %8.3f  target %-5s %s" % (name, value, target, status))
        elif name in skipped:
            if require_services:
                failed = True
                report.append(
                    "gate %-20s skipped: %s  FAIL (services are required)" % (name, skipped[name])
                )
            else:
                report.append("gate %-20s skipped: %s" % (name, skipped[name]))
        else:
            failed = True
            report.append("gate %-20s missing  FAIL (no ratio line)" % name)
    report.append("gate: %s (margin %.0f%%)" % ("FAILED" if failed else "passed", margin * 100))
    return not failed, report


def run_suite(quick, pytest_args):
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "--benchmark-columns",
        "min,median,mean,iqr,rounds",
        "--benchmark-sort",
        "name",
    ]
    if quick:
        command.append("--bench-quick")
    command += pytest_args or ["benchmarks"]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    process = subprocess.Popen(
        command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines = []
    for line in process.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        lines.append(line)
    return process.wait(), "".join(lines)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    pytest_args = []
    if "--" in argv:
        cut = argv.index("--")
        argv, pytest_args = argv[:cut], argv[cut + 1 :]
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.gate", description="Run the benchmarks and gate their ratios."
    )
    parser.add_argument("--quick", action="store_true", help="CI's quick mode")
    parser.add_argument(
        "--margin",
        type=float,
        default=DEFAULT_MARGIN,
        help="noise allowance over each target (default %(default)s)",
    )
    parser.add_argument(
        "--require-services",
        action="store_true",
        help="a ratio skipped for want of RabbitMQ or PostgreSQL fails",
    )
    parser.add_argument(
        "--ratios",
        default=None,
        help="comma-separated ratios to expect (default: every ratio of the table)",
    )
    parser.add_argument(
        "--from",
        dest="source",
        default=None,
        help="judge this saved output ('-' for stdin) instead of running",
    )
    args = parser.parse_args(argv)
    expected = args.ratios.split(",") if args.ratios else list(TARGETS)

    status = 0
    if args.source:
        text = (
            sys.stdin.read() if args.source == "-" else open(args.source, encoding="utf-8").read()
        )
    else:
        status, text = run_suite(args.quick, pytest_args)
    found, skipped = parse(text)
    passed, report = judge(found, skipped, args.margin, expected, args.require_services)
    print("\n".join(report))
    if status != 0:
        print("gate: the benchmark run itself failed (pytest exit status %d)" % status)
        return 1
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
