"""The in-process run on every core: a run's fixtures shared among forked processes.

Fixtures of an in-process run do not depend on one another (each starts from its world's
database as seeded, its rate limiter's counts forgotten), so ``refnova conformance`` deals
them out to ``jobs`` processes, as pytest-xdist deals tests. The application is imported once,
before the fork, so no process pays for it again; each process then builds the deployments of
the worlds it was dealt. The parent runs a share itself and gathers the others' results
(pickled, through a pipe), so the report, the JUnit file and the exit status are those of one
run, in the fixtures' order.

Forking needs ``os.fork`` and a process that holds no thread yet (the parent forks before any
deployment starts its conductor); on a platform without it, or where forking is unsafe
(macOS's system libraries), the run stays in one process.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pickle
import signal
import sys
import threading
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from refnova.conformance.fixtures import Fixture
from refnova.conformance.in_process import (
    Progress,
    WorldLoader,
    run_all_in_process,
    world_key,
)
from refnova.conformance.results import Result

if TYPE_CHECKING:
    from refnova.service import Deployment as ServiceDeployment

    DeploymentFactory = Callable[[Mapping[str, Any]], ServiceDeployment]

# A process of its own pays for its deployments (about 10 ms a world) and its fork: below this
# many fixtures a job, another process costs more than it saves.
MIN_FIXTURES_PER_JOB = 40
# What a process imports on its first fixture (refnova.conformance.in_process), imported in
# the parent once, before the fork.
APPLICATION_MODULES = ("refnova.service", "refnova.api.openstack.contracts", "refnova.db.api")


class ChildFailed(RuntimeError):
    """A process of the run ended without its results."""


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity where the platform tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def can_fork() -> bool:
    """Whether this process may fork for a run: the platform allows it and no other thread
    runs (a child gets only the forking thread, and any lock another one held stays held)."""
    return hasattr(os, "fork") and sys.platform != "darwin" and threading.active_count() == 1


def jobs_for(count: int, jobs: int, min_per_job: int = MIN_FIXTURES_PER_JOB) -> int:
    """How many processes ``count`` fixtures get when ``jobs`` are allowed."""
    if not can_fork():
        return 1
    return max(1, min(jobs, count // max(1, min_per_job)))


def share(fixtures: Sequence[Fixture], jobs: int) -> list[list[int]]:
    """The fixtures' indexes dealt to ``jobs`` processes, each share in the fixtures' order.

    The fixtures of a world of their own stay together (one deployment for them, in one
    process), the largest group first to the emptiest share; the reference world's (most of
    any run) are then dealt one by one to the emptiest share, so the shares end up about
    equal and each process builds few deployments.
    """
    groups: dict[str, list[int]] = defaultdict(list)
    reference: list[int] = []
    for index, fixture in enumerate(fixtures):
        if fixture.world:
            groups[world_key(fixture.world)].append(index)
        else:
            reference.append(index)
    shares: list[list[int]] = [[] for _ in range(jobs)]
    for group in sorted(groups.values(), key=len, reverse=True):
        min(shares, key=len).extend(group)
    for index in reference:
        min(shares, key=len).append(index)
    return [sorted(indexes) for indexes in shares if indexes]


def run_in_processes(
    fixtures: Iterable[Fixture],
    jobs: int,
    progress: Progress | None = None,
    deployment_factory: DeploymentFactory | None = None,
    world_loader: WorldLoader | None = None,
    min_per_job: int = MIN_FIXTURES_PER_JOB,
) -> list[Result]:
    """Run fixtures in-process on up to ``jobs`` processes; the results in their order."""
    fixtures = list(fixtures)
    jobs = jobs_for(len(fixtures), jobs, min_per_job)
    if jobs == 1:
        return run_all_in_process(fixtures, progress, deployment_factory, world_loader)
    for module in APPLICATION_MODULES:
        importlib.import_module(module)
    own, *others = share(fixtures, jobs)

    def run_share(indexes: list[int], report: Progress | None) -> list[Result]:
        chosen = [fixtures[index] for index in indexes]
        return run_all_in_process(chosen, report, deployment_factory, world_loader)

    results: dict[int, Result] = {}
    with _children(others, run_share) as children:
        results.update(zip(own, run_share(own, progress), strict=True))
        for child in children:
            for index, result in child.collect():
                results[index] = result
                if progress is not None:
                    progress(result)
    return [results[index] for index in range(len(fixtures))]


@dataclass
class _Child:
    pid: int
    reader: int
    indexes: list[int]
    done: bool = False

    def collect(self) -> list[tuple[int, Result]]:
        """Its results, once it has ended; ``ChildFailed`` if it could not run its share."""
        with os.fdopen(self.reader, "rb") as pipe:
            payload = pipe.read()
        _, status = os.waitpid(self.pid, 0)
        self.done = True
        try:
            kind, content = pickle.loads(payload)
        except (pickle.UnpicklingError, EOFError, ValueError):  # it ended while answering
            kind, content = "error", "no whole answer (%d bytes)" % len(payload)
        if kind != "results" or status != 0:
            raise ChildFailed(
                "a process of the run (pid %d, exit status %d) failed:\n%s"
                % (self.pid, os.waitstatus_to_exitcode(status), content)
            )
        return list(zip(self.indexes, content, strict=True))


@contextlib.contextmanager
def _children(
    shares: list[list[int]], run_share: Callable[[list[int], Progress | None], list[Result]]
) -> Iterator[list[_Child]]:
    """One forked process for each share; those still running are stopped on the way out."""
    children: list[_Child] = []
    try:
        for indexes in shares:
            children.append(_fork(indexes, run_share))
        yield children
    finally:
        for child in children:
            if not child.done:
                with contextlib.suppress(OSError):
                    os.kill(child.pid, signal.SIGTERM)
                with contextlib.suppress(OSError):
                    os.close(child.reader)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(child.pid, 0)


def _fork(
    indexes: list[int], run_share: Callable[[list[int], Progress | None], list[Result]]
) -> _Child:
    reader, writer = os.pipe()
    sys.stdout.flush()  # what the parent has buffered is written once, by the parent
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        os.close(writer)
        return _Child(pid, reader, indexes)
    os.close(reader)  # the child: run its share, answer, and end without the parent's exits
    status = 0
    try:
        payload = pickle.dumps(("results", run_share(indexes, None)))
    except BaseException:
        payload, status = pickle.dumps(("error", traceback.format_exc())), 1
    try:
        with os.fdopen(writer, "wb") as pipe:
            pipe.write(payload)
    finally:
        os._exit(status)
