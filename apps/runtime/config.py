"""The sandbox's settings: declared here once, with their defaults.

``genauth_pipeline/settings.py`` reads the environment into a ``SandboxConfig`` (taking its
defaults from this class) and Django hands it to ``apps.runtime.configure`` at start-up; scripts
without Django (benchmarks/) build one themselves. The runtime never reads the environment for
its settings. ``EngineConfig`` is the part a worker process gets, derived from it.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    # Worker processes per web or Celery process; 0: one per core.
    workers: int = 0
    # A new isolate for every run instead of warm isolates per tenant (slower, stronger).
    fresh_isolate_per_run: bool = False
    heap_mb: int = 64
    # Warm isolates are kept while a worker's resident memory stays under this much above
    # what it used once ready (isolates in use count too); the least recently used go first.
    warm_memory_mb: int = 256
    # And at most this many; 0: what ``warm_memory_mb`` holds (see ``warm_isolates``).
    max_warm_isolates: int = 0
    # A worker whose resident memory is over this is retired once its runs are answered.
    worker_rss_limit_mb: int = 512
    # Requests one worker serves at once (each on a thread of its own, in an isolate of its
    # own): runs that wait on a timer or an outbound request cost a slot, not a worker.
    max_runs_per_worker: int = 64
    # Hosts and networks outbound HTTP may reach besides public addresses.
    http_allow: tuple[str, ...] = ()
    # Worker processes each pool keeps started ahead of need, to take a lost one's place (at
    # most one per worker: a spare holding the busy tenants' isolates is ~150 MiB).
    spare_workers: int = 2
    # Fresh isolates each worker keeps built ahead of need.
    spare_isolates: int = 2
    # Fresh isolates the pool's spare worker builds at start-up (see EngineConfig).
    spare_worker_isolates: int = 16

    def __post_init__(self) -> None:
        if (
            self.workers < 0
            or self.heap_mb < 8
            or self.warm_memory_mb < 0
            or self.max_warm_isolates < 0
            or self.max_runs_per_worker < 1
            or self.spare_workers < 0
        ):
            raise ValueError(
                "workers >= 0, heap_mb >= 8, warm_memory_mb >= 0, max_warm_isolates >= 0,"
                " max_runs_per_worker >= 1 and spare_workers >= 0 are required"
            )

    def resolved(self) -> SandboxConfig:
        """The same settings with "0: derive it" filled in for this machine, and the spares
        capped at one per worker."""
        workers = self.workers or os.cpu_count() or 1
        return replace(
            self,
            workers=workers,
            max_warm_isolates=self.max_warm_isolates or warm_isolates(self.warm_memory_mb),
            spare_workers=min(self.spare_workers, workers),
        )

    def engine_config(self, *, spare: bool = False) -> EngineConfig:
        resolved = self.resolved()
        return EngineConfig(
            heap_mb=self.heap_mb,
            fresh_isolate_per_run=self.fresh_isolate_per_run,
            warm_memory_mb=self.warm_memory_mb,
            max_warm_isolates=resolved.max_warm_isolates,
            spare_isolates=self.spare_isolates,
            boot_spare_isolates=self.spare_worker_isolates if spare else 0,
            http_allow=self.http_allow,
        )

    def worker_config(self, *, spare: bool = False) -> dict[str, Any]:
        """What a worker process is started with (JSON: see worker.py)."""
        return {
            "engine": asdict(self.engine_config(spare=spare)),
            "worker_rss_limit_mb": self.worker_rss_limit_mb,
            "max_runs_per_worker": self.max_runs_per_worker,
        }


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """A worker's engine settings; built by ``SandboxConfig.engine_config``, never by hand."""

    heap_mb: int
    fresh_isolate_per_run: bool
    warm_memory_mb: int
    # Each warm isolate is ~2.3 MiB resident, ~13 MiB of address space that the worker's data
    # limit makes room for as isolates are created.
    max_warm_isolates: int
    spare_isolates: int
    # Spares built once, at start-up, in the background (the pool asks it of its spare worker:
    # a worker that takes over from a lost one meets that one's tenants, all cold, at once).
    boot_spare_isolates: int
    http_allow: tuple[str, ...]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EngineConfig:
        return cls(**{**data, "http_allow": tuple(data["http_allow"])})


def warm_isolates(warm_memory_mb: int) -> int:
    """How many warm isolates a memory budget holds: an isolate with our prelude and frozen
    built-ins is ~2.3 MiB resident (benchmarks/tenants.py prints it), so 2 MiB each is the
    most the budget could ever admit; the budget itself evicts before that."""
    return max(8, warm_memory_mb // 2)
