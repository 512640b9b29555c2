"""Ray in local mode for the islands tests: started once per test module, always shut down after it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import ray

if TYPE_CHECKING:
    from collections.abc import Iterator


def local_ray(num_cpus: int) -> Iterator[Any]:
    """Start Ray on this machine (no dashboard, a small object store), yield it, then shut it down.

    Ray's start-up takes seconds, so a module-scoped fixture shares it; the last assertion is that no Ray
    is left running for the next module.
    """
    ray.init(
        num_cpus=num_cpus,
        include_dashboard=False,
        object_store_memory=100 * 1024 * 1024,
        log_to_driver=False,
        logging_level=logging.WARNING,
    )
    yield ray
    ray.shutdown()
    assert not ray.is_initialized()
