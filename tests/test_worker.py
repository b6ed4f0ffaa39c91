"""The self-play worker: complete, consistent game records from B games played in lockstep."""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np
import pytest
from toy_games import oracle_evaluator, prompt_and_answer

import games
from games import Game, GameSpec
from games.text.task import END
from selfplay import worker as worker_module
from selfplay.config import SelfPlayConfig
from selfplay.mcts import SearchConfig
from selfplay.replay import GameRecord
from selfplay.worker import SelfPlayWorker


class Countdown(Game):
    """A one-player puzzle: take 1, 2 or 3 from a pile of 4 to 7 (random start) until it is
    empty; taking more than is left is illegal. The return is 1 - 0.25 * moves, so values are
    fractions and a shorter solution is better."""

    spec = GameSpec(name="countdown", version=1, num_players=1, num_actions=3,
                    observation_shape=(8,), max_game_length=7)  # fmt: skip
    state_dtype = np.dtype([("pile", np.int8), ("moves", np.int8)])

    def new_initial_states(self, batch_size, rng=None):
        states = np.zeros(batch_size, dtype=self.state_dtype)
        states["pile"] = rng.integers(4, 8, size=batch_size)
        return states

    def current_player(self, states):
        return np.where(self.is_terminal(states), -1, 0).astype(np.int8)

    def is_terminal(self, states):
        return states["pile"] == 0

    def legal_actions_mask(self, states):
        fits = np.arange(1, 4)[None, :] <= states["pile"][:, None]
        return fits | self.is_terminal(states)[:, None]

    def _apply_actions(self, states, actions):
        new = states.copy()
        live = new["pile"] > 0
        new["pile"][live] -= actions[live] + 1
        new["moves"][live] += 1
        return new

    def returns(self, states):
        value = np.where(self.is_terminal(states), 1 - 0.25 * states["moves"], 0.0)
        return value.astype(np.float32)[:, None]

    def observation_tensor(self, states):
        return np.eye(8, dtype=np.float32)[states["pile"]]

    def action_to_string(self, action):
        return f"take{int(action) + 1}"

    def render(self, states, index=0):
        return f"pile {states['pile'][index]} after {states['moves'][index]} moves"


def uniform_evaluator(num_actions: int):
    def evaluate(observations):
        b = len(observations)
        return np.zeros((b, num_actions), np.float32), np.zeros(b, np.float32)

    return evaluate


def _worker(game, games_per_worker=6, temperature_moves=3, seed=0, evaluator=None, **search):
    search = {"simulations": 16, **search}
    return SelfPlayWorker(
        game,
        SearchConfig(**search),
        SelfPlayConfig(games_per_worker=games_per_worker, temperature_moves=temperature_moves),
        evaluator or uniform_evaluator(game.spec.num_actions),
        seed=seed,
    )


def _check_record(game: Game, record: GameRecord, start: np.ndarray | None = None) -> None:
    """Replays the record's moves from its start and checks every recorded field against it."""
    t, a = record.length, game.spec.num_actions
    assert record.observations.shape == (t, *game.spec.observation_shape)
    assert record.policies.shape == (t, a) and record.values.shape == (t,)
    assert record.players.shape == (t,) and record.actions.shape == (t,)
    assert record.returns.shape == (game.spec.num_players,)
    assert record.observations.dtype == game.spec.observation_dtype  # uint8 for the built-ins
    assert record.policies.dtype == record.values.dtype == np.float32
    states = start if start is not None else game.new_initial_states(1)
    for ply in range(t):
        assert not game.is_terminal(states)[0], f"the game ended before ply {ply}"
        np.testing.assert_array_equal(record.observations[ply], game.observation_tensor(states)[0])
        assert record.players[ply] == game.current_player(states)[0]
        legal = game.legal_actions_mask(states)[0]
        policy = record.policies[ply]
        assert policy.sum() == pytest.approx(1.0, abs=1e-5)
        assert (policy >= 0).all() and (policy[~legal] == 0).all()
        assert legal[record.actions[ply]] and policy[record.actions[ply]] > 0
        states = game.apply_actions(states, record.actions[ply : ply + 1])
    assert game.is_terminal(states)[0], "a record of an unfinished game"
    np.testing.assert_array_equal(record.returns, game.returns(states)[0])
    np.testing.assert_array_equal(record.values, record.returns[record.players])


def test_tictactoe_records_are_complete_and_consistent():
    game = games.make("tictactoe")
    worker = _worker(game)
    records = worker.play(10)
    assert len(records) >= 10
    for record in records:
        _check_record(game, record)
        assert set(np.unique(record.values)) <= {-1.0, 0.0, 1.0}
        # Two players alternate, and the winner's moves carry +1, the loser's -1.
        np.testing.assert_array_equal(record.players, np.arange(record.length) % 2)
        assert record.returns.sum() == 0
    assert {tuple(r.returns) for r in records} >= {(1.0, -1.0), (-1.0, 1.0)}


def test_play_returns_finished_games_and_carries_the_others_over():
    game = games.make("tictactoe")
    worker = _worker(game, games_per_worker=5)
    total_moves, total_positions, carried = 0, 0, False
    for k in (1, 3, 2, 7):
        records = worker.play(k)
        stats = worker.stats()
        assert len(records) >= k and stats["games"] == len(records)
        for record in records:
            _check_record(game, record)
        moves_this_call = stats["moves"] // worker.batch_size
        carried |= any(r.length > moves_this_call for r in records)  # began in an earlier call
        total_moves += stats["moves"]
        total_positions += sum(r.length for r in records)
        assert stats["positions"] == sum(r.length for r in records)
        # Every ply played is in a returned record or in a game still running: none is lost.
        assert total_moves == total_positions + worker.plies.sum()
    assert carried
    assert worker.play(0) == []


def test_the_batch_stays_full(monkeypatch):
    game = games.make("tictactoe")
    sizes, reused = [], []
    real_search = worker_module.search

    def spy(game, states, evaluator, config, rng, tree=None):
        sizes.append(len(states))
        assert not game.is_terminal(states).any()
        # Trees kept from the last move, rooted at the current positions, wait for reuse.
        kept = np.zeros(len(states), bool) if tree is None else tree.num_nodes > 0
        assert (tree is None) == (len(sizes) == 1)
        roots = tree.states[kept, 0] if tree is not None else states[:0]
        assert roots.tobytes() == states[kept].tobytes()
        reused.append(kept.sum())
        return real_search(game, states, evaluator, config, rng, tree)

    monkeypatch.setattr(worker_module, "search", spy)
    worker = _worker(game, games_per_worker=7)
    records = worker.play(20)
    stats = worker.stats()
    assert sizes and set(sizes) == {7}
    assert stats["moves"] == 7 * len(sizes)
    assert stats["simulations"] == 16 * stats["moves"]
    assert len(records) >= 20 and (worker.plies < game.spec.max_game_length).all()
    assert sum(reused) > 0.5 * stats["moves"]


def test_temperature_cutoff():
    game = games.make("tictactoe")
    cutoff = 4
    worker = _worker(game, games_per_worker=16, temperature_moves=cutoff, temperature=1.0,
                     dirichlet_fraction=0.25)  # fmt: skip
    records = worker.play(40)
    opening_not_most_visited = 0
    for record in records:
        # The policy target of PUCT is the visit shares: its argmax is the most visited move.
        most_visited = record.policies.argmax(axis=1)
        played = record.actions
        np.testing.assert_array_equal(played[cutoff:], most_visited[cutoff:])
        opening_not_most_visited += int((played[:cutoff] != most_visited[:cutoff]).sum())
    # Before the cutoff the moves are sampled, so they are often not the most visited.
    assert opening_not_most_visited > 20


def test_temperature_zero_plays_the_most_visited_move_throughout():
    game = games.make("tictactoe")
    worker = _worker(game, games_per_worker=8, temperature_moves=9, temperature=0.0)
    for record in worker.play(8):
        np.testing.assert_array_equal(record.actions, record.policies.argmax(axis=1))


def test_one_player_game():
    game = Countdown()
    worker = _worker(game, games_per_worker=5, temperature_moves=2, simulations=24)
    records = worker.play(12)
    assert len(records) >= 12
    for record in records:
        start = np.zeros(1, dtype=game.state_dtype)
        start["pile"] = np.flatnonzero(record.observations[0])[0]
        _check_record(game, record, start=start)
        assert (record.players == 0).all()
        np.testing.assert_allclose(record.values, 1 - 0.25 * record.length, rtol=1e-6)
    assert len({r.length for r in records}) > 1


def test_discounted_values_fall_off_with_the_plies_left():
    game = Countdown()
    worker = SelfPlayWorker(game, SearchConfig(simulations=8),
                            SelfPlayConfig(games_per_worker=4, value_discount=0.5),
                            uniform_evaluator(3), seed=0)  # fmt: skip
    for record in worker.play(6):
        plies_left = np.arange(record.length - 1, -1, -1)
        np.testing.assert_allclose(record.values, record.returns[0] * 0.5**plies_left)


def test_solved_games_teach_the_moves_played():
    game = games.make("countdown@k=3,mode=guided")
    config = SelfPlayConfig(games_per_worker=8, temperature_moves=0, solution_targets=True)
    worker = SelfPlayWorker(game, SearchConfig(simulations=16), config,
                            uniform_evaluator(game.spec.num_actions), seed=1)  # fmt: skip
    records = worker.play(24)
    solved = [r for r in records if r.returns[0] > 0]
    failed = [r for r in records if r.returns[0] < 0]
    assert solved and failed
    for record in solved:
        plies = np.arange(record.length - 1)  # the last sample is the finished answer
        assert (record.policies[plies, record.actions[plies]] == 1).all()
        np.testing.assert_array_equal(record.policies[plies].sum(axis=1), 1)
    # Failed games keep the search's visit shares: not all one-hot.
    assert any((r.policies[:-1].max(axis=1) < 1).any() for r in failed)


def test_text_games_keep_the_finished_answer_with_an_empty_policy():
    game = games.make("countdown@k=3,mode=guided")
    worker = _worker(game, games_per_worker=4, simulations=8)
    for record in worker.play(5):
        *plies, final = range(record.length)
        assert record.policies[final].sum() == 0 and record.actions[final] == -1
        np.testing.assert_allclose(record.policies[plies].sum(axis=1), 1, rtol=1e-5)
        assert record.values[final] == record.returns[0] in (-1.0, 1.0)
        # The last observation is the answer, finished: it ends with the end token.
        tokens = record.observations[final].astype(int)
        assert tokens[(tokens != 0).sum() - 1] == game.encode("$")[0]


def test_gumbel_search_plays_complete_games():
    game = games.make("tictactoe")
    worker = _worker(game, games_per_worker=4, algorithm="gumbel", simulations=8)
    records = worker.play(6)
    for record in records:
        _check_record(game, record)


def test_set_evaluator_swaps_the_network_and_versions_the_games():
    game = games.make("tictactoe")
    calls = {"old": 0, "new": 0}

    def counting(name):
        uniform = uniform_evaluator(9)

        def evaluate(observations):
            calls[name] += 1
            return uniform(observations)

        return evaluate

    worker = SelfPlayWorker(game, SearchConfig(simulations=8),
                            SelfPlayConfig(games_per_worker=4, temperature_moves=2),
                            counting("old"), seed=1, weights_version=3)  # fmt: skip
    first = worker.play(4)
    assert {r.weights_version for r in first} == {3} and calls["old"] > 0
    old_calls = calls["old"]
    worker.set_evaluator(counting("new"), version=4)
    later = worker.play(12)
    assert calls["old"] == old_calls and calls["new"] > 0
    # The 4 games running at the swap keep the version that opened them; new ones get 4.
    assert [r.weights_version for r in later].count(3) == 4
    assert {r.weights_version for r in later} == {3, 4}


def test_same_seed_same_games_and_workers_differ():
    game = games.make("tictactoe")
    a = [r.actions.tolist() for r in _worker(game, seed=5).play(6)]
    b = [r.actions.tolist() for r in _worker(game, seed=5).play(6)]
    assert a == b
    c = SelfPlayWorker(game, SearchConfig(simulations=16),
                       SelfPlayConfig(games_per_worker=6, temperature_moves=3),
                       uniform_evaluator(9), seed=5, worker_id=1).play(6)  # fmt: skip
    assert [r.actions.tolist() for r in c] != a


def test_stats_time_the_evaluator_and_reset():
    game = games.make("tictactoe")
    worker = _worker(game, games_per_worker=6)
    worker.play(3)
    stats = worker.stats()
    assert stats["evaluator_calls"] > 0
    assert 0 < stats["evaluator_seconds"] <= stats["search_seconds"] <= stats["seconds"]
    # Fresh roots and new leaves share the calls; never more positions than the batch.
    assert 1 <= stats["evaluator_batch"] <= 6
    assert stats["evaluator_positions"] == pytest.approx(
        stats["evaluator_batch"] * stats["evaluator_calls"]
    )
    again = worker.stats()
    assert all(value == 0 for value in again.values()), again


def test_a_game_that_never_ends_is_reported():
    stuck = Countdown()  # a pile of 7 takes 3 moves, past this wrong bound
    stuck.spec = dataclasses.replace(Countdown.spec, max_game_length=2)
    worker = _worker(stuck, games_per_worker=3)
    with pytest.raises(RuntimeError, match="max_game_length=2"):
        worker.play(50)


def test_cheap_searches_give_no_policy_targets_and_cost_their_simulations():
    game = games.make("tictactoe")
    config = SelfPlayConfig(games_per_worker=4, temperature_moves=0, cheap_simulations=2,
                            full_search_share=0.3)  # fmt: skip
    worker = SelfPlayWorker(game, SearchConfig(simulations=16), config, uniform_evaluator(9),
                            seed=3)  # fmt: skip
    records = worker.play(40)
    stats = worker.stats()
    targets = np.concatenate([r.policies for r in records])
    empty = targets.sum(axis=1) == 0
    # Every ply has a search target or none at all, never a partial one.
    np.testing.assert_allclose(targets[~empty].sum(axis=1), 1, rtol=1e-5)
    assert 0.15 < (~empty).mean() < 0.45
    # Each move costs the simulations of the search it got: 16 for a full one, 2 for a cheap.
    full_moves = (stats["simulations"] - 2 * stats["moves"]) / 14 / 4
    assert 0.15 < full_moves / (stats["moves"] / 4) < 0.45
    for record in records:  # cheap moves still play legal, complete games
        assert game.is_terminal(_replay(game, record.actions))[0]


def test_cheap_simulations_must_be_below_the_full_search():
    from selfplay.config import ConfigError, resolve

    with pytest.raises(ConfigError, match=r"cheap_simulations must be below mcts\.simulations"):
        resolve(["mcts.simulations=8", "selfplay.cheap_simulations=8"])
    with pytest.raises(ConfigError, match="full_search_share must be in"):
        resolve(["selfplay.cheap_simulations=2", "selfplay.full_search_share=0"])


def _replay(game: Game, actions: np.ndarray) -> np.ndarray:
    states = game.new_initial_states(1)
    for action in actions:
        states = game.apply_actions(states, np.array([action]))
    return states


def test_hindsight_adds_a_won_twin_for_each_relabelled_loss():
    game = games.make("countdown@k=3")
    config = SelfPlayConfig(games_per_worker=16, temperature_moves=0, hindsight=True,
                            solution_targets=True, value_discount=0.9)  # fmt: skip
    search = SearchConfig(algorithm="gumbel", simulations=16)
    worker = SelfPlayWorker(game, search, config, uniform_evaluator(game.spec.num_actions),
                            seed=2)  # fmt: skip
    records = worker.play(60)
    stats = worker.stats()
    twins = [i for i, r in enumerate(records) if r.hindsight]
    assert stats["games"] == len(records) - len(twins) >= 60
    assert stats["hindsight_games"] == len(twins) > 5
    assert stats["positions"] == sum(r.length for r in records if not r.hindsight)
    for i in twins:
        twin, lost = records[i], records[i + 1]  # a twin comes right before its lost game
        assert not lost.hindsight and lost.returns[0] < 0 and twin.returns[0] == 1
        np.testing.assert_allclose(twin.values, 0.9 ** np.arange(twin.length - 1, -1, -1))
        # The moves are the targets (the finished answer last, with none), and they win.
        *plies, final = range(twin.length)
        assert (twin.policies[plies, twin.actions[plies]] == 1).all()
        assert twin.policies[final].sum() == 0 and twin.actions[final] == -1
        text = game.decode(twin.observations[final].astype(np.uint8))
        first = game.decode(twin.observations[0].astype(np.uint8))  # the new problem
        states = game.states_from_prompts([first])
        for action in twin.actions[plies]:
            states = game.apply_actions(states, np.array([action]))
        assert game.returns(states)[0, 0] == 1 and game.prompt(states) + game.answer(states) == text
        # Same numbers as the lost game, another target.
        lost_text = game.decode(lost.observations[-1].astype(np.uint8))
        assert first.split("|")[0] == lost_text.split("|")[0] and first != lost_text[: len(first)]
    # Off, or for a game without relabelling, there are no twins.
    plain = SelfPlayWorker(game, search, dataclasses.replace(config, hindsight=False),
                           uniform_evaluator(game.spec.num_actions), seed=2)  # fmt: skip
    assert not any(r.hindsight for r in plain.play(30))


def test_hindsight_that_does_not_win_is_reported():
    class Relabelled(Countdown):
        def hindsight(self, state, rng):
            states = np.zeros(2, dtype=self.state_dtype)
            states["pile"] = [1, 1]  # still running
            return states, np.array([0])

    config = SelfPlayConfig(games_per_worker=2, hindsight=True)
    worker = SelfPlayWorker(Relabelled(), SearchConfig(simulations=4), config,
                            uniform_evaluator(3), seed=0)  # fmt: skip
    with pytest.raises(RuntimeError, match=r"countdown\.hindsight must give a won game"):
        worker.play(5)


def test_answer_samples_are_finished_answers_with_the_verifiers_verdict():
    game = games.make("countdown@k=3,reject=dead_end")
    config = SelfPlayConfig(games_per_worker=16, answer_samples=3)
    # An oracle of little confidence: its samples are right only some of the time.
    worker = SelfPlayWorker(game, SearchConfig(simulations=4), config,
                            oracle_evaluator(game, logit=6.0), seed=0)  # fmt: skip
    records = worker.play(20)
    stats = worker.stats()
    played = [r for r in records if r.played]
    sampled = [r for r in records if r.sampled]
    assert stats["games"] == len(played) >= 20 and len(records) == len(played) + len(sampled)
    assert stats["sampled_answers"] == len(sampled) == 3 * len(played)
    assert stats["positions"] == sum(r.length for r in played)

    # Three answers to the problem of every game played, and to nothing else.
    problems = Counter(prompt_and_answer(game, r.observations[0])[0] for r in played)
    answers = [prompt_and_answer(game, r.observations[0]) for r in sampled]
    assert Counter(prompt for prompt, _ in answers) == {p: 3 * n for p, n in problems.items()}
    verdicts = []
    for record, (prompt, answer) in zip(sampled, answers, strict=True):
        assert record.length == 1 and record.actions[0] == -1 and record.policies.sum() == 0
        # Finished, even when a step went wrong early: the rules search-hidden plays by.
        assert answer.endswith(END)
        accepted = bool(game.task.verify(prompt, answer.removesuffix(END)))
        assert record.returns[0] == record.values[0] == (1 if accepted else -1)
        verdicts.append(accepted)
    assert 0.1 < np.mean(verdicts) < 0.9  # both verdicts, to learn from

    with pytest.raises(ValueError, match="answer_samples is for text games; tictactoe"):
        SelfPlayWorker(games.make("tictactoe"), SearchConfig(simulations=4), config,
                       uniform_evaluator(9), seed=0)  # fmt: skip
    with pytest.raises(ValueError, match="answer_samples must be >= 0"):
        SelfPlayConfig(answer_samples=-1)
