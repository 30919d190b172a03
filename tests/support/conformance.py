"""``refnova conformance`` as a user runs it: a child process, its JUnit XML and Markdown
reports, and the summary line it ends with."""

import re
import xml.etree.ElementTree as ET

from tests.support import processes

SUMMARY_RE = re.compile(r"^(\d+) passed, (\d+) failed, (\d+) skipped$")


def run_cli(cwd, *args, timeout=600):
    """``refnova conformance ...`` in ``cwd``, in a clean environment: the CompletedProcess."""
    return processes.run("conformance", *args, cwd=cwd, timeout=timeout)


def run_conformance(tmp_path, target, *extra):
    """A live run against ``target``: (the CompletedProcess, the JUnit root, the Markdown)."""
    junit, report = tmp_path / "junit.xml", tmp_path / "report.md"
    completed = run_cli(
        tmp_path, "--target", target, "--junit", str(junit), "--report", str(report), *extra
    )
    return completed, ET.parse(junit).getroot(), report.read_text(encoding="utf-8")


def summary(completed):
    """(passed, failed, skipped) from the run's last line."""
    return tuple(map(int, SUMMARY_RE.match(completed.stdout.strip().splitlines()[-1]).groups()))


def junit_outcomes(root):
    outcomes = {}
    for case in root.iter("testcase"):
        if case.find("failure") is not None:
            outcomes[case.get("name")] = ("failed", case.find("failure"))
        elif case.find("skipped") is not None:
            outcomes[case.get("name")] = ("skipped", case.find("skipped"))
        else:
            outcomes[case.get("name")] = ("passed", None)
    return outcomes
