"""The Ray runtime a distributed search runs on: a local one with N workers (`--workers N`) or
an existing cluster (`--cluster ADDRESS`), the partition actors kept between the configs of
one command (starting a worker process and importing plugcheck there costs about a second),
and the message when Ray is not installed. Ray is imported only here."""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Any

INSTALL = "pip install 'ray>=2.9'  (or, in a checkout: pip install -e '.[distributed]')"
CPU_WAIT_TRIES = 25  # 0.2 s apart: CPUs of just-ended actors come back by then
PROBE_SECONDS = 3.0  # a cluster address that does not answer within this fails the run


class Unavailable(Exception):
    """The distributed search cannot start: Ray is missing, or the cluster does not answer."""


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise Unavailable(f"--workers and --cluster need Ray, which is not installed: {INSTALL}") from None
    return ray


def probe(address: str, seconds: float = PROBE_SECONDS) -> None:
    """Fail at once when nothing answers at a cluster's host:port (ray.init would wait for
    minutes). "auto" and "local" are Ray's own lookups and are not probed."""
    if address in ("auto", "local"):
        return
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise Unavailable(f"--cluster takes HOST:PORT (the head node's GCS address), not {address!r}")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=seconds):
            pass
    except OSError as e:
        why = "no answer" if isinstance(e, TimeoutError) else (e.strerror or str(e))
        raise Unavailable(f"cannot reach the Ray cluster at {address}: {why} within {seconds:g} s") from None


def _errors_to_stderr() -> None:
    """Ray prints the cluster's error messages (a worker that died, and why) on the driver's
    stdout, where they would break `--json`: send them to stderr. A private hook of Ray's; if
    a version lacks it, the messages stay where Ray puts them."""
    try:
        from ray._private import worker
    except ImportError:
        return
    show = getattr(worker, "print_to_stdstream", None)
    if show is None or getattr(show, "plugcheck_stderr", False):
        return

    def to_stderr(data: dict[str, Any], ignore_prefix: bool) -> None:
        show({**data, "is_err": True}, ignore_prefix)

    to_stderr.plugcheck_stderr = True  # type: ignore[attr-defined]
    worker.print_to_stdstream = to_stderr


class Runtime:
    """A Ray runtime joined or started on first use, with a pool of partition actors."""

    def __init__(self, workers: int | None, address: str | None = None) -> None:
        self.workers, self.address = workers, address
        # partitions remember what they sent (`partition.Sent`) on a cluster, where it saves
        # network bytes; on one machine it costs more CPU than sending the states does
        self.remember_sent = address is not None
        self.ray: Any = None
        self.owned = False  # this process started (or joined) Ray and shuts it down
        self.pool: list[Any] = []

    def start(self) -> Any:
        if self.ray is not None:
            return self.ray
        ray = import_ray()
        if self.address is not None:
            probe(self.address)
        if not ray.is_initialized():
            # no usage reports from a model checker; a local runtime needs no access token
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            common = {"logging_level": logging.ERROR, "log_to_driver": False, "include_dashboard": False}
            if self.address is not None:
                ray.init(address=self.address, **common)
            else:
                os.environ.setdefault("RAY_AUTH_MODE", "disabled")
                ray.init(num_cpus=self.workers or os.cpu_count() or 1, **common)
            self.owned = True
        _errors_to_stderr()
        self.ray = ray
        return ray

    def count(self) -> int:
        """Workers to use: as asked, or one per CPU of the cluster."""
        if self.workers:
            return self.workers
        return max(1, int(self.start().cluster_resources().get("CPU", 1)))

    def actors(self, n: int) -> list[Any]:
        """n partition actors, created on first use and kept for the next search."""
        ray = self.start()
        from .partition import Partition

        cls = ray.remote(num_cpus=1, max_concurrency=2, max_restarts=0)(Partition)
        spread = {"scheduling_strategy": "SPREAD"} if self.address is not None else {}
        self._wait_for_cpus(n - len(self.pool))
        while len(self.pool) < n:
            self.pool.append(cls.options(**spread).remote())
        return self.pool[:n]

    def _wait_for_cpus(self, need: int) -> None:
        """An actor that finds no free CPU would wait forever: say so instead. CPUs of actors
        just ended come back within moments, so wait a little for them."""
        ray = self.ray
        free = 0.0
        for _ in range(CPU_WAIT_TRIES):
            free = float(ray.available_resources().get("CPU", 0))
            if need <= 0 or free >= need:
                return
            time.sleep(0.2)
        total = float(ray.cluster_resources().get("CPU", 0))
        raise Unavailable(
            f"{need} more worker(s) need {need} free CPUs, but the Ray runtime has {free:g} of {total:g} free: "
            "use fewer --workers"
        )

    def discard(self) -> None:
        """End every actor (after a failure or a run stopped mid-level: their state is unknown)."""
        if self.ray is not None:
            for a in self.pool:
                try:
                    self.ray.kill(a)
                except Exception:  # already dead: nothing to end
                    pass
        self.pool = []

    def close(self) -> None:
        self.discard()
        if self.ray is not None and self.owned:
            self.ray.shutdown()
        self.ray, self.owned = None, False
