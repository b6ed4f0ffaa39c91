"""A short training run on a two-node Ray cluster (simulated on this machine): self-play workers
land on both nodes and the run completes."""

from __future__ import annotations

import pytest
import torch

ray = pytest.importorskip("ray")
cluster_utils = pytest.importorskip("ray.cluster_utils")

from selfplay.config import parse_overrides, resolve, smoke  # noqa: E402
from selfplay.loop import train  # noqa: E402


@pytest.fixture(scope="module")
def two_nodes():
    torch.set_num_threads(1)
    cluster = cluster_utils.Cluster(
        initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False}
    )
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)
    yield cluster
    ray.shutdown()
    cluster.shutdown()


def test_training_uses_both_nodes(two_nodes, tmp_path):
    assert len([n for n in ray.nodes() if n["Alive"]]) == 2
    nodes: set[str] = set()

    def record(generation, metrics, pool):
        nodes.update(ray.get([actor.node_id.remote() for actor in pool.actors]))

    base = smoke(resolve(["game=tictactoe", f"run_dir={tmp_path}", "name=cluster"]))
    # One CPU per node and one per worker: the two workers must go to different nodes.
    config = parse_overrides(["selfplay.workers=2", "generations=2"], base=base)
    run_dir = train(config, on_generation=record)
    assert (run_dir / "checkpoint.pt").exists()
    assert len(nodes) == 2
