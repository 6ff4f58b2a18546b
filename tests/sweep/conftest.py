"""A local Ray with 2 CPUs for the sweep tests (started once, on first use)."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture(scope="session")
def local_ray():
    ray = pytest.importorskip("ray")
    started = not ray.is_initialized()
    if started:
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            logging_level=logging.WARNING,
        )
    yield ray
    if started:
        ray.shutdown()
