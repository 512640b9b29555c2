"""The Ray adapter of the islands: the only module that imports ray, and only when a run starts.

``import actors`` never loads ray (``tests/test_layering.py`` checks it in a fresh interpreter); without
ray installed, a run fails with an ``ArenaError`` naming ``pip install arena-runtime[distributed]``.

Local mode (no ``address``) starts Ray on this machine with one CPU slot per island (at least the cores),
no dashboard, a 100 MB object store (a round sends a few genomes: kilobytes) and workers' logs kept out
of the driver's terminal; it is always shut down on the way out. With ``address`` (``ray://HOST:PORT``
or ``auto``) it joins a running cluster, whose nodes must be able to import this package: install it on
every node, or pass ``runtime_env={"working_dir": ...}`` to ``ray.init`` yourself and call
``run_islands`` with Ray initialised (an initialised Ray is used as it is and left running).
Each island is an actor asking for one CPU, so a cluster spreads islands across its nodes.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any, Final, Self

from events import ArenaError

from ._islands import Island, IslandDiedError, IslandSummary

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path
    from types import ModuleType, TracebackType

__all__ = ["CALL_TIMEOUT", "LEG_TIMEOUT", "IslandPool", "RayIslands", "import_ray"]

logger = logging.getLogger(__name__)

LEG_TIMEOUT: Final = 6 * 3600.0
"""Seconds a round of legs may take before the run gives up on it: a 365-day leg of 2,000 agents takes
minutes on 2 cores, so this only catches an island that hangs."""

CALL_TIMEOUT: Final = 600.0
"""Seconds any other island call may take (opening with rehearsal, a migration, a summary, closing)."""

OBJECT_STORE_BYTES: Final = 100 * 1024 * 1024
"""Local Ray's object store: genomes and summaries are kilobytes; Ray's default takes 30% of memory."""

INSTALL_HINT: Final = "pip install 'arena-runtime[distributed]'"


def import_ray() -> ModuleType:
    """Return the ray module, or raise an ``ArenaError`` saying how to install it."""
    try:
        import ray  # noqa: PLC0415  (only a run loads ray: `import actors` never does)
    except ImportError:
        msg = f"islands: ray is not installed; islands run as Ray actors: {INSTALL_HINT}"
        raise ArenaError(msg) from None
    return ray


class RayIslands:
    """Ray for one run: started (or joined) on entry, shut down on exit if this run started it."""

    def __init__(self, *, address: str | None, islands: int) -> None:
        self._address = address
        self.islands = islands
        """CPU slots a local Ray gets at least one of per island; settable until the run starts."""
        self._owned = False
        self._ray: Any = import_ray()  # here, so a missing ray refuses the run before anything is written

    def __enter__(self) -> Self:
        ray = self._ray
        if ray.is_initialized():
            return self
        if self._address is not None:
            ray.init(address=self._address, log_to_driver=False, logging_level=logging.WARNING)
        else:
            ray.init(
                num_cpus=max(self.islands, os.cpu_count() or 1),
                include_dashboard=False,
                object_store_memory=OBJECT_STORE_BYTES,
                ignore_reinit_error=False,
                log_to_driver=False,
                logging_level=logging.WARNING,  # Ray's start-up chatter is not the run's output
            )
        self._owned = True
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._owned:
            self._ray.shutdown()

    def start(
        self, run_dir: Path, manifest: Mapping[str, Any], *, exit_after_steps: Mapping[int, int]
    ) -> IslandPool:
        """Start one island actor per island of ``manifest``; each opens (or reopens) its file."""
        remote = self._ray.remote(Island)
        actors = [
            remote.options(num_cpus=1, max_restarts=0).remote(
                str(run_dir), index, dict(manifest), exit_after_steps=exit_after_steps.get(index)
            )
            for index in range(int(manifest["islands"]))
        ]
        return IslandPool(self._ray, actors, str(run_dir))


class IslandPool:
    """The island actors of one run: every call is a round, sent to all, waited for all, then judged."""

    def __init__(self, ray: Any, actors: Sequence[Any], run_dir: str) -> None:  # noqa: ANN401  (ray's handles are untyped)
        self._ray = ray
        self._actors = list(actors)
        self._run_dir = run_dir
        self._dead: set[int] = set()
        self._closed = False

    def round(self, method: str, arguments: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Call ``method`` on every island with its arguments; return the answers in island order.

        Every future is waited for before anything is decided, so an island's death never cuts the
        others' round short. Then, if any died, every live island closes its arena and ``IslandDiedError``
        names the dead.

        Raises:
            IslandDiedError: an island's process died (or did not answer within the timeout).
            ArenaError: an island refused the call (its own error, re-raised).

        """
        exceptions = self._ray.exceptions
        timeout = LEG_TIMEOUT if method == "run_leg" else CALL_TIMEOUT
        futures = [
            getattr(actor, method).remote(*args) for actor, args in zip(self._actors, arguments, strict=True)
        ]
        answers: list[Any] = []
        refused: ArenaError | None = None
        for index, future in enumerate(futures):
            try:
                answers.append(self._ray.get(future, timeout=timeout))
            except (exceptions.RayActorError, exceptions.GetTimeoutError) as e:
                logger.error("island-%d died during %s: %s", index, method, type(e).__name__)  # noqa: TRY400  (reported below)
                self._dead.add(index)
                answers.append(None)
            except exceptions.RayTaskError as e:
                cause = e.cause if isinstance(e.cause, ArenaError) else ArenaError(str(e))
                refused = refused or cause
                answers.append(None)
        if self._dead:
            self.close()
            dead = tuple(f"island-{index}" for index in sorted(self._dead))
            msg = (
                f"islands: {', '.join(dead)} died during {method}; the other islands finished that round and "
                f"closed their logs at a step boundary (each verifies); continue the run with: "
                f"arena islands --resume --dir {self._run_dir}"
            )
            raise IslandDiedError(msg, islands=dead, run_dir=self._run_dir)
        if refused is not None:
            self.close()
            raise refused
        return answers

    def summaries(self) -> tuple[IslandSummary, ...]:
        """Every island's summary, in island order."""
        return tuple(self.round("summary", [()] * len(self._actors)))

    def close(self) -> None:
        """Close every live island's arena, then end its actor; a second call does nothing."""
        if self._closed:
            return
        self._closed = True
        live = [(index, actor) for index, actor in enumerate(self._actors) if index not in self._dead]
        closing = [actor.close.remote() for _, actor in live]
        for (index, actor), future in zip(live, closing, strict=True):
            try:
                self._ray.get(future, timeout=CALL_TIMEOUT)
            except self._ray.exceptions.RayError:
                logger.exception("island-%d could not close its arena", index)
            self._ray.kill(actor)
        for index in sorted(self._dead):
            self._ray.kill(self._actors[index])
