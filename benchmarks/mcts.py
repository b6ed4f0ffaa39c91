"""Search throughput: simulations per second of every backend, side by side in one process.

Connect Four from the start and from mid-game positions, with a uniform evaluator so that the
figure measures the search and the rules only. The pure-Python reference walks one tree at a
time, so its rate does not depend on the batch size: it is timed on a few trees. When ``mctx``,
``pgx`` and ``jax`` are installed, mctx's muzero and gumbel policies on pgx's connect_four run
the same searches in the same process.

    python benchmarks/mcts.py                 # the full table (a few minutes)
    python benchmarks/mcts.py --quick         # batch 256, 64 simulations only
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

import games
from selfplay.mcts import SearchConfig, resolve_backend, search
from selfplay.mcts.reference import reference_search

ROOT = Path(__file__).resolve().parents[1]


def uniform(obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((len(obs), 7), np.float32), np.zeros(len(obs), np.float32)


def positions(
    game: games.Game, kind: str, count: int, rng: np.random.Generator
) -> tuple[np.ndarray, list[list[int]]]:
    """``count`` start positions, or positions after 12-16 random plies (none finished), and
    the moves that reached each (to set up the same positions in pgx)."""
    if kind == "start":
        return game.new_initial_states(count), [[] for _ in range(count)]
    found, found_moves = [], []
    while len(found_moves) < count:
        states, moves = game.new_initial_states(count), [[] for _ in range(count)]
        for _ in range(int(rng.integers(12, 17))):
            mask = game.legal_actions_mask(states)
            actions = np.where(mask, rng.random(mask.shape), -1).argmax(axis=1)
            for i, live in enumerate(~game.is_terminal(states)):
                if live:
                    moves[i].append(int(actions[i]))
            states = game.apply_actions(states, actions)
        live = ~game.is_terminal(states)
        found.append(states[live])
        found_moves += [m for m, keep in zip(moves, live, strict=True) if keep]
    return np.concatenate(found)[:count], found_moves[:count]


def timed(fn, min_seconds: float) -> float:
    """Seconds per call of ``fn`` after one warm-up call, over at least ``min_seconds``."""
    fn()
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return elapsed / calls


def mctx_runner(algorithm: str, moves: list[list[int]], simulations: int):
    """A jitted mctx search over pgx connect_four states reached by the same moves."""
    import jax
    import jax.numpy as jnp
    import mctx
    import pgx

    env = pgx.make("connect_four")
    batch = len(moves)
    state = jax.vmap(env.init)(jax.random.split(jax.random.PRNGKey(0), batch))
    for ply in range(max(len(m) for m in moves)):
        actions = jnp.array([m[ply] if ply < len(m) else 0 for m in moves])
        stepped = jax.vmap(env.step)(state, actions)
        keep = jnp.array([ply < len(m) for m in moves])  # games already set up stay as they are

        def merge(new, old, keep=keep):
            return jnp.where(keep.reshape((-1,) + (1,) * (new.ndim - 1)), new, old)

        state = jax.tree_util.tree_map(merge, stepped, state)

    def recurrent_fn(params, rng_key, action, embedding):
        player = embedding.current_player
        embedding = jax.vmap(env.step)(embedding, action)
        logits = jnp.where(embedding.legal_action_mask, 0.0, jnp.finfo(jnp.float32).min)
        reward = embedding.rewards[jnp.arange(batch), player]
        value = jnp.zeros(batch)
        discount = jnp.where(embedding.terminated, 0.0, -1.0)
        out = mctx.RecurrentFnOutput(
            reward=reward, discount=discount, prior_logits=logits, value=value
        )
        return out, embedding

    policy = mctx.muzero_policy if algorithm == "muzero" else mctx.gumbel_muzero_policy

    @jax.jit
    def run(key, root_state):
        logits = jnp.where(root_state.legal_action_mask, 0.0, jnp.finfo(jnp.float32).min)
        root = mctx.RootFnOutput(prior_logits=logits, value=jnp.zeros(batch), embedding=root_state)
        return policy(
            params=None, rng_key=key, root=root, recurrent_fn=recurrent_fn,
            num_simulations=simulations, invalid_actions=~root_state.legal_action_mask,
        )  # fmt: skip

    key = jax.random.PRNGKey(1)
    return lambda: run(key, state).action.block_until_ready()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="batch 256, 64 simulations only")
    parser.add_argument("--seconds", type=float, default=2.0, help="minimum time per cell")
    parser.add_argument("--reference-trees", type=int, default=4,
                        help="trees the pure-Python reference is timed on")  # fmt: skip
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/mcts.json")
    args = parser.parse_args()

    game = games.make("connect4")
    backends = ["numba"]
    try:
        resolve_backend("cpp")
        backends.insert(0, "cpp")
    except RuntimeError:
        pass
    try:
        import mctx  # noqa: F401
        import pgx  # noqa: F401

        external = ["mctx-muzero", "mctx-gumbel"]
    except ImportError:
        external = []
    batches = [256] if args.quick else [1, 64, 256, 1024]
    simulations = [64] if args.quick else [64, 200]
    console = Console(width=160)  # keep every column whole when piped to a file
    rows = []
    for kind in ("start", "midgame"):
        for sims in simulations:
            for batch in batches:
                states, moves = positions(game, kind, batch, np.random.default_rng(0))
                row = {"position": kind, "simulations": sims, "batch": batch}
                for name in backends:
                    config = SearchConfig(simulations=sims, backend=name)
                    run = functools.partial(search, game, states, uniform, config,
                                            np.random.default_rng(0))  # fmt: skip
                    row[name] = batch * sims / timed(run, args.seconds)
                few = states[: min(batch, args.reference_trees)]
                config = SearchConfig(simulations=sims, backend="numba")
                run = functools.partial(reference_search, game, few, uniform, config,
                                        np.random.default_rng(0))  # fmt: skip
                row["reference"] = len(few) * sims / timed(run, args.seconds / 2)
                for name in external:
                    runner = mctx_runner(name.split("-")[1], moves, sims)
                    row[name] = batch * sims / timed(runner, args.seconds)
                rows.append(row)
                console.print(row)

    columns = [*backends, "reference", *external]
    table = Table(title="simulations per second, Connect Four, uniform evaluator")
    for name in ("position", "sims", "batch", *columns, f"{backends[0]}/reference"):
        table.add_column(name, justify="right")
    for name in external:
        table.add_column(f"{backends[0]}/{name}", justify="right")
    for row in rows:
        best = row[backends[0]]
        cells = [row["position"], str(row["simulations"]), str(row["batch"])]
        cells += [f"{row[c]:,.0f}" for c in columns]
        cells += [f"{best / row['reference']:.0f}x"]
        cells += [f"{best / row[name]:.1f}x" for name in external]
        table.add_row(*cells)
    console.print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"rows": rows, "columns": columns}, indent=2))
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
