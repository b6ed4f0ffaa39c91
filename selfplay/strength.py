"""How strong the best network is, measured during training every few generations: Elo
ratings against fixed baselines, for Connect Four the share of optimal moves on Pascal Pons'
solved positions, and for text games the share of test problems the network alone solves. All
go to TensorBoard."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from games.base import Game
from selfplay.arena import fit_elo, play_match, solve_rate
from selfplay.config import RunConfig
from selfplay.evaluation import evaluate, load_pons_sets, move_scores
from selfplay.model import PolicyValueNet
from selfplay.players import NetworkPlayer, Player, evaluation_config, make_player

PONS_SETS = ("End-Easy", "Middle-Easy", "Middle-Medium")  # cheap to label with the solver


class StrengthMonitor:
    """Plays the best network against ``arena.baselines`` and, for Connect Four with
    ``arena.pons_dir`` set, judges its moves on a fixed sample of solved positions."""

    def __init__(self, game: Game, config: RunConfig, run_dir: Path, device: str):
        self.game, self.config, self.device = game, config, device
        arena = config.arena
        specs = [s.strip() for s in arena.baselines.split(",") if s.strip()]
        two_players = game.spec.num_players == 2
        self.baselines: list[Player] = [make_player(s, game) for s in specs] if two_players else []
        self.search = evaluation_config(config.mcts, simulations=arena.simulations)
        self.text_tests = {}
        task = getattr(game, "task", None)
        if task is not None and arena.test_problems:
            self.text_tests = {
                split: game.states_from_prompts(task.test_prompts(split, limit=arena.test_problems))
                for split in task.splits
            }
        self.pons = None
        if arena.pons_dir and game.spec.name == "connect4":
            sets = load_pons_sets(arena.pons_dir, limit=arena.pons_positions, names=PONS_SETS)
            self.pons = (sets, move_scores(sets, run_dir / "pons-scores.json"))

    def due(self, generation: int) -> bool:
        every = self.config.arena.strength_every
        measures = self.baselines or self.pons or self.text_tests
        return bool(every) and generation % every == 0 and bool(measures)

    def measure(self, model: PolicyValueNet, generation: int) -> dict[str, float]:
        rng = np.random.default_rng([self.config.seed, generation, 7])
        best = NetworkPlayer(model, self.search, device=self.device, name="best")
        metrics: dict[str, float] = {}
        if self.baselines:
            results = []
            for baseline in self.baselines:
                match = play_match(
                    self.game, best, baseline, self.config.arena.baseline_games, rng,
                    opening_plies=self.config.arena.opening_plies,
                )  # fmt: skip
                results.append(("best", baseline.name, match.wins, match.draws, match.losses))
                metrics[f"strength/score_vs_{baseline.name}"] = match.score
            anchor = self.baselines[0].name
            ratings = fit_elo(results, anchor=anchor)
            metrics[f"strength/elo_over_{anchor}"] = ratings["best"]
        if self.text_tests:
            alone = NetworkPlayer(model, None, device=self.device, name="policy")
            for split, states in self.text_tests.items():
                metrics[f"strength/greedy_{split}"] = solve_rate(self.game, alone, states, rng)
        if self.pons is not None:
            sets, scores = self.pons
            for row in evaluate(best, sets, scores, rng):
                metrics[f"strength/{row['set']}_weak"] = row["weak"]
                metrics[f"strength/{row['set']}_strong"] = row["strong"]
        return metrics
