"""The main job. It will run distributed self-play training; until the search and the training
loop land, it runs a short demo of the pieces that exist: a batch of random Connect Four games
played in lockstep by the compiled rules, with the random moves judged by the exact solver.

    python train.py
"""

from __future__ import annotations

import time

import numpy as np
from rich.console import Console
from rich.progress import track
from rich.table import Table

import games
from selfplay.solver import Connect4Solver

NUM_GAMES = 1024  # games played in one batch
JUDGED = 200  # random moves judged by the solver, taken after the opening (cheap to solve)
JUDGE_FROM_PLY = 14


def play_random(game: games.Game, num_games: int, rng: np.random.Generator):
    """Plays uniformly random games in lockstep. Returns the final states, the actions ``[T, B]``
    and each game's length (the actions after its end are ignored by the rules)."""
    states = game.new_initial_states(num_games)
    history, lengths = [], np.zeros(num_games, dtype=np.int64)
    while not (done := game.is_terminal(states)).all():
        mask = game.legal_actions_mask(states)
        # Sample a legal action per game: argmax of random keys restricted to the mask.
        actions = np.where(mask, rng.random(mask.shape), -1.0).argmax(axis=1)
        lengths += ~done
        history.append(actions)
        states = game.apply_actions(states, actions)
    return states, np.array(history), lengths


def main() -> None:
    console = Console()
    console.print("[bold]selfplay demo[/bold]: the training loop is not built yet (see README)")
    rng = np.random.default_rng(0)
    game = games.make("connect4")

    play_random(game, 1, rng)  # loads the compiled rules, so the timing below is of play only
    start = time.perf_counter()
    states, history, lengths = play_random(game, NUM_GAMES, rng)
    seconds = time.perf_counter() - start
    outcomes = np.bincount(states["outcome"], minlength=4)
    plies = int(lengths.sum())
    table = Table(title=f"{NUM_GAMES} random Connect Four games in one batch")
    for column in ("X wins", "O wins", "draws", "mean length", "positions/s"):
        table.add_column(column, justify="right")
    table.add_row(
        str(outcomes[game.FIRST_WINS]),
        str(outcomes[game.SECOND_WINS]),
        str(outcomes[game.DRAW]),
        f"{plies / NUM_GAMES:.1f}",
        f"{plies / seconds:,.0f}",
    )
    console.print(table)

    solver = Connect4Solver()
    candidates = [(i, p) for i in range(NUM_GAMES) for p in range(JUDGE_FROM_PLY, lengths[i])]
    picked = rng.choice(len(candidates), size=min(JUDGED, len(candidates)), replace=False)
    kept = best = 0
    for k in track(picked, description="judging random moves with the solver", console=console):
        i, ply = candidates[k]
        position = "".join(str(a + 1) for a in history[:ply, i])
        scores = solver.analyze(position)
        chosen, top = scores[history[ply, i]], max(s for s in scores if s is not None)
        kept += np.sign(chosen) == np.sign(top)  # keeps the win / draw / loss
        best += chosen == top
    console.print(
        f"of {len(picked)} random moves after ply {JUDGE_FROM_PLY}: {kept / len(picked):.0%} keep "
        f"the game-theoretic result, {best / len(picked):.0%} are the solver's best"
    )


if __name__ == "__main__":
    main()
