"""The best network of a run: candidates must beat it in the arena to replace it.

Two-player games gate on a match (SPRT or a fixed threshold, ``ArenaConfig``); one-player
games on the solve rates of candidate and best over a fresh draw of validation problems. The
Elo of every promoted generation is kept, relative to the initial network at 0, by chaining
the gating matches' estimates.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from games.base import Game
from selfplay.arena import SPRT, ThresholdGate, elo_from_score, gate, solve_rate
from selfplay.config import RunConfig
from selfplay.model import PolicyValueNet
from selfplay.players import NetworkPlayer, evaluation_config

MAX_ELO_STEP = 800.0  # a clean sweep has no finite Elo estimate: count it as this much


class BestNetwork:
    """The network self-play uses, and the arena that guards it."""

    def __init__(self, game: Game, config: RunConfig, initial: PolicyValueNet, device: str):
        self.game, self.config, self.device = game, config, device
        self.model = copy.deepcopy(initial).to(device).eval()  # it only ever plays
        self.generation = 0  # the generation whose candidate this is
        self.elo = 0.0
        self.history: list[tuple[int, float]] = [(0, 0.0)]  # (generation, Elo) per promotion
        self._search = evaluation_config(config.mcts, simulations=config.arena.simulations)

    def weights(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}

    def consider(
        self, candidate: PolicyValueNet, generation: int, rng: np.random.Generator
    ) -> dict[str, float]:
        """Plays ``candidate`` against the best network; promotes it if it wins the gate.
        Returns the arena's metrics for logging (``arena/promoted`` is 1 or 0)."""
        arena = self.config.arena
        if arena.gate == "none":
            metrics = {"arena/promoted": 1.0}
        elif self.game.spec.num_players == 1:
            metrics = self._solve_rates(candidate, generation)
        else:
            rule = (
                SPRT(arena.elo0, arena.elo1, arena.alpha, arena.beta, max_games=arena.max_games)
                if arena.gate == "sprt"
                else ThresholdGate(arena.threshold_games, arena.threshold)
            )
            result = gate(
                self.game,
                NetworkPlayer(candidate, self._search, device=self.device, name="candidate"),
                NetworkPlayer(self.model, self._search, device=self.device, name="best"),
                rule,
                rng,
                batch=arena.batch,
                opening_plies=arena.opening_plies,
            )
            score = result.match.score
            metrics = {
                "arena/score": score,
                "arena/games": float(result.match.tally.games),
                "arena/promoted": float(result.promote),
                "arena/elo_gain": max(-MAX_ELO_STEP, min(MAX_ELO_STEP, elo_from_score(score))),
            }
        if metrics["arena/promoted"]:
            self.model.load_state_dict(candidate.state_dict())
            self.generation = generation
            self.elo += metrics.get("arena/elo_gain", 0.0)
            self.history.append((generation, self.elo))
        metrics["arena/best_generation"] = float(self.generation)
        metrics["arena/best_elo"] = self.elo
        return metrics

    def _solve_rates(self, candidate: PolicyValueNet, generation: int) -> dict[str, float]:
        """The candidate is promoted unless it solves fewer validation problems than the best
        network, both answering the same fresh draw (a tie means "no worse", and promoting it
        keeps self-play moving while both still solve nothing). A fixed set would carry the
        best's score over from the set it was picked on: the maximum of many noisy scores,
        which later candidates that are no worse seldom reach (the winner's curse)."""
        arena = self.config.arena
        problems = self.game.validation_states(
            arena.validation_games, rng=np.random.default_rng([self.config.seed + 1, generation])
        )
        best = self._solve_rate(self.model, problems)
        rate = self._solve_rate(candidate, problems)
        return {
            "arena/solve_rate": rate,
            "arena/best_solve_rate": best,
            "arena/promoted": float(rate >= best),
        }

    def _solve_rate(self, model: PolicyValueNet, problems: np.ndarray) -> float:
        search = self._search if self.config.arena.validation_player == "search" else None
        player = NetworkPlayer(model, search, device=self.device)
        return solve_rate(self.game, player, problems, np.random.default_rng(0))

    def state_dict(self) -> dict:
        return {
            "model": self.weights(),
            "generation": self.generation,
            "elo": self.elo,
            "history": [list(row) for row in self.history],
        }

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.generation = int(state["generation"])
        self.elo = float(state["elo"])
        self.history = [(int(g), float(e)) for g, e in state["history"]]
