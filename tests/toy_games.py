"""Small games and evaluators for the search tests."""

from __future__ import annotations

import functools

import numpy as np

import games
from games import Game, GameSpec
from games.text.steps import StepTask
from games.text.task import END, PAD, SEP, TextGame
from games.text.verifier import solve_steps


class LineWalk(Game):
    """A one-player puzzle: start at 0, each move steps +1, +2 or -1; landing exactly on 7
    within 6 moves scores +1, stepping past it or running out of moves scores -1."""

    TARGET, MOVES = 7, 6
    STEPS = np.array([1, 2, -1])
    spec = GameSpec(name="linewalk", version=1, num_players=1, num_actions=3,
                    observation_shape=(2,), max_game_length=MOVES)  # fmt: skip
    state_dtype = np.dtype([("pos", np.int8), ("moves", np.int8), ("result", np.int8)])

    def new_initial_states(self, batch_size, rng=None):
        return np.zeros(batch_size, dtype=self.state_dtype)

    def current_player(self, states):
        return np.where(self.is_terminal(states), -1, 0).astype(np.int8)

    def is_terminal(self, states):
        return states["result"] != 0

    def legal_actions_mask(self, states):
        return np.ones((len(states), 3), dtype=bool)

    def _apply_actions(self, states, actions):
        new = states.copy()
        live = new["result"] == 0
        new["pos"][live] += self.STEPS[actions[live]]
        new["moves"][live] += 1
        won = live & (new["pos"] == self.TARGET)
        lost = live & ~won & ((new["pos"] > self.TARGET) | (new["moves"] == self.MOVES))
        new["result"][won], new["result"][lost] = 1, -1
        return new

    def returns(self, states):
        return states["result"].astype(np.float32)[:, None]

    def observation_tensor(self, states):
        return np.stack([states["pos"], states["moves"]], axis=1).astype(np.float32)

    def action_to_string(self, action):
        return ["+1", "+2", "-1"][int(action)]

    def render(self, states, index=0):
        return f"at {states['pos'][index]} after {states['moves'][index]} moves"


def uniform_evaluator(num_actions: int):
    def evaluate(obs):
        return np.zeros((len(obs), num_actions), np.float32), np.zeros(len(obs), np.float32)

    return evaluate


def hash_evaluator(num_actions: int):
    """Deterministic, varied logits and values from the observation, computed in integers so
    that a row's result never depends on the batch it is in."""

    def evaluate(obs):
        flat = np.round(obs.reshape(len(obs), -1) * 4).astype(np.int64)
        h = (flat * (np.arange(flat.shape[1]) * 7919 + 13)).sum(axis=1) % 100003
        logits = ((h[:, None] * 31 + np.arange(num_actions) * 977) % 1000) / 250.0 - 2.0
        values = ((h * 17) % 201 - 100) / 100.0
        return logits.astype(np.float32), values.astype(np.float32)

    return evaluate


@functools.cache
def tictactoe_values() -> dict[bytes, float]:
    """Minimax value, from the mover's view, of every reachable tic-tac-toe position."""
    game = games.make("tictactoe")
    table: dict[bytes, float] = {}

    def value(states) -> float:
        key = states.tobytes()
        if key not in table:
            if game.is_terminal(states)[0]:
                mover = int(states["player"][0])  # the player who would move next
                table[key] = float(game.returns(states)[0, mover])
            else:
                legal = np.flatnonzero(game.legal_actions_mask(states)[0])
                table[key] = max(-value(game.apply_actions(states, np.array([a]))) for a in legal)
        return table[key]

    value(game.new_initial_states(1))
    return table


def perfect_tictactoe_evaluator(game: Game):
    """Uniform policy, exact minimax value: the search must then never choose a losing move."""
    table = tictactoe_values()

    def evaluate(obs):
        # Rebuild each state from the observation (own stones, opponent stones, mover by count).
        own, opp = obs[:, 0].reshape(len(obs), 9), obs[:, 1].reshape(len(obs), 9)
        x_to_move = own.sum(axis=1) == opp.sum(axis=1)
        states = np.zeros(len(obs), dtype=game.state_dtype)
        states["board"] = np.where(x_to_move[:, None], own * 1 + opp * 2, own * 2 + opp * 1)
        states["player"] = np.where(x_to_move, 0, 1)
        values = np.array([table[states[i : i + 1].tobytes()] for i in range(len(obs))])
        return np.zeros((len(obs), 9), np.float32), values.astype(np.float32)

    return evaluate


def all_tictactoe_positions(game: Game) -> np.ndarray:
    """Every reachable, non-terminal tic-tac-toe position (one record each)."""
    records = [np.frombuffer(k, dtype=game.state_dtype) for k in tictactoe_values()]
    states = np.concatenate(records)
    return states[~game.is_terminal(states)]


def prompt_and_answer(game: TextGame, observation: np.ndarray) -> tuple[str, str]:
    """The prompt and the answer written so far in a text game's observation row."""
    tokens = observation.astype(np.int64)
    tokens = tokens[: int((tokens != PAD).sum())]
    sep = int(np.flatnonzero(tokens == SEP)[0])
    return game.decode(tokens[1:sep]), game.decode(tokens[sep + 1 :])


def oracle_evaluator(game: TextGame, logit: float = 10.0):
    """Logits that put the next character of the solver's answer first, ``logit`` above the
    others (free mode); zero values."""

    def evaluate(observations):
        logits = np.zeros((len(observations), game.spec.num_actions), np.float32)
        for i, row in enumerate(observations):
            prompt, answer = prompt_and_answer(game, row)
            numbers, target = StepTask.parse_prompt(prompt)
            full = solve_steps(list(numbers), target, max_value=game.task.max_value) + END
            if full.startswith(answer) and len(answer) < len(full):  # else: off the path, or done
                logits[i, game.encode(full[len(answer)])[0]] = logit
        return logits, np.zeros(len(observations), np.float32)

    return evaluate
