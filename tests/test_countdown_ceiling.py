"""benchmarks/countdown_ceiling.py: its solver data is the game's own play, and a short run
trains and measures."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch
from conftest import benchmark_module, careless_answer

import games
from games.text.steps import StepTask
from games.text.task import END, EOS
from games.text.verifier import UNDO, apply_step
from selfplay.checkpoint import load_checkpoint
from selfplay.players import NetworkPlayer


@pytest.fixture(scope="module")
def bench():
    with benchmark_module("countdown_ceiling") as module:
        yield module


@pytest.mark.parametrize("spec", ["countdown@k=3", "countdown@k=4,min_k=3"])
def test_solver_records_replay_the_game(bench, spec):
    game = games.make(spec)
    pairs = bench.draw_pool(spec, 12, workers=2, seed=1)
    assert len(pairs) == 12 and len({p for p, _ in pairs}) == 12  # the workers draw apart
    for prompt, answer in pairs:
        record = bench.to_record(game, prompt, answer, discount=0.9)
        bench.check_record(game, prompt, record)
        assert record.length == len(answer) + 1
        np.testing.assert_allclose(record.values, 0.9 ** np.arange(record.length)[::-1])
        assert (record.policies.sum(axis=1) == 1).all()


def _accepted_answers(numbers: tuple[int, ...], target: int, max_value: int) -> set[str]:
    """Every answer the rules accept, by brute force: all orders of all legal steps."""
    if len(numbers) == 1:
        return {""} if numbers[0] == target else set()
    answers = set()
    for i, j in itertools.permutations(range(len(numbers)), 2):
        for op in "+-*/":
            value = apply_step(numbers[i], op, numbers[j], max_value=max_value)
            if value is None:
                continue
            rest = (*(n for m, n in enumerate(numbers) if m not in (i, j)), value)
            step = f"{numbers[i]}{op}{numbers[j]}={value}"
            tails = _accepted_answers(rest, target, max_value)
            answers |= {step + ("," + tail if tail else "") for tail in tails}
    return answers


@pytest.mark.parametrize("spec", ["countdown@k=3", "countdown@k=4,min_k=3"])
def test_survivor_targets_are_the_characters_some_accepted_answer_continues_with(bench, spec):
    game = games.make(spec)
    pairs = bench.draw_pool(spec, 10, workers=1, seed=3)
    for (prompt, answer), policy in zip(pairs, bench.survivor_policies(game, pairs), strict=True):
        numbers, target = StepTask.parse_prompt(prompt)
        accepted = {a + END for a in _accepted_answers(numbers, target, game.task.max_value)}
        assert policy.shape == (len(answer) + 1, game.spec.num_actions)
        for t in range(len(answer) + 1):
            prefix = (answer + END)[:t]
            expected = {a[t] for a in accepted if a.startswith(prefix)}
            support = {game.chars[a - EOS] for a in np.flatnonzero(policy[t])}
            assert support == expected, (prompt, prefix)
            np.testing.assert_allclose(policy[t][policy[t] > 0], 1 / len(expected), rtol=1e-6)


@pytest.mark.parametrize("spec", ["countdown@k=3", "countdown@k=4"])
def test_favourites_are_the_accepted_answers_the_network_ranks_first(bench, spec):
    """With a network that ranks the characters in one fixed random order, whatever it reads,
    the favourite answer is the accepted answer that comes first in that order (brute force)."""
    game = games.make(spec)
    rank = np.random.default_rng(4).permutation(game.spec.num_actions).astype(np.float32)

    def evaluator(observations):
        return np.tile(-rank, (len(observations), 1)), np.zeros(len(observations), np.float32)

    prompts = [prompt for prompt, _ in bench.draw_pool(spec, 8, workers=1, seed=5)]
    records = bench.favourite_records(game, evaluator, prompts, discount=1.0, seed=0)
    for prompt, record in zip(prompts, records, strict=True):
        numbers, target = StepTask.parse_prompt(prompt)
        accepted = _accepted_answers(numbers, target, game.task.max_value)
        first = min(accepted, key=lambda a: [rank[i] for i in game.encode(a + END)])
        assert game.decode(record.actions) == first + END, prompt
        bench.check_record(game, prompt, record)


def test_a_record_the_game_would_not_play_is_caught(bench):
    game = games.make("countdown@k=3")
    prompt, answer = bench.draw_pool("countdown@k=3", 1, workers=1, seed=2)[0]
    wrong_result = answer[:-1] + str((int(answer[-1]) + 1) % 10)
    with pytest.raises(AssertionError, match=r"illegal|not accepted"):
        bench.check_record(game, prompt, bench.to_record(game, prompt, wrong_result, 1.0))
    record = bench.to_record(game, prompt, answer, 1.0)
    record.observations[1, -1] = 5  # a stray token past the prefix
    with pytest.raises(AssertionError, match="observation 1"):
        bench.check_record(game, prompt, record)


def test_a_short_run_trains_and_reports(bench, tmp_path):
    out, pool = tmp_path / "ceiling.json", tmp_path / "pool.txt"
    args = ["--minutes", "0.05", "--pool", "40", "--problems", "5", "--eval-every", "1"]
    args += ["model.blocks=1", "model.channels=16", "--out", str(out), "--pool-file", str(pool)]
    args += ["learner.ema=0.9", "--checkpoint", str(tmp_path / "net.pt")]
    bench.main(args)
    report = json.loads(out.read_text())
    # The network written at the last evaluation loads as a player: the learner's average.
    payload = load_checkpoint(tmp_path / "net.pt")
    assert payload["generation"] == report["history"][-1]["steps"]
    player = NetworkPlayer.from_checkpoint(tmp_path / "net.pt")
    average = payload["learner"]["average"]
    for name, tensor in player.model.state_dict().items():
        torch.testing.assert_close(tensor, average[name], rtol=0, atol=0)
    assert report["training_problems"] == 40 and report["problems_per_split"] == 5
    steps = [row["steps"] for row in report["history"]]
    assert steps[0] == 0 and steps[-1] > 0 and steps == sorted(steps)
    rates = {"greedy_seen", "greedy_heldout", "average_seen", "average_heldout"}
    assert rates <= set(report["history"][-1]) and report["best_average_seen"] >= 0
    saved = pool.read_text()
    assert len(saved.splitlines()) == 40
    assert bench.load_pool(pool, "countdown@k=3", 40, 1, seed=99) == [
        tuple(line.split(" ")) for line in saved.splitlines()
    ]  # read back, not drawn again with the other seed
    assert (
        bench.load_pool(pool, "countdown@k=3", 30, 1, seed=0)
        == bench.load_pool(pool, "countdown@k=3", 40, 1, seed=0)[:30]
    )
    with pytest.raises(SystemExit, match="expected 41 lines"):
        bench.main([*args[2:], "--pool", "41"])


def test_detours_are_searches_the_game_accepts(bench, capsys):
    """Solver answers with detours: each detour is a step after which the target cannot be
    made, taken back; the game plays every trace to an accepted end within its undos."""
    spec = "countdown@k=4,backtrack=4"
    game = games.make(spec)
    pairs = bench.draw_pool(spec, 40, workers=1, seed=4, writing=bench.Writing(detours=0.5))
    plain = bench.draw_pool(spec, 40, workers=1, seed=4)
    detours = 0
    for (prompt, trace), (same, answer) in zip(pairs, plain, strict=True):
        assert prompt == same and trace.count("<") <= 4
        bench.check_record(game, prompt, bench.to_record(game, prompt, trace, discount=1.0))
        numbers, target = StepTask.parse_prompt(prompt)
        solution = answer.split(",")
        standing: list[str] = []
        for item in trace.replace("<", ",<,").split(","):
            if item == "<":
                standing.pop()
            elif item:
                left = game.task.numbers_after(numbers, standing)
                assert item in game.task.legal_steps(left)
                on_path = standing == solution[: len(standing)]
                if on_path and item != solution[len(standing)]:  # a detour: a dead end
                    assert item not in game.task.legal_steps(left, target), (trace, item)
                    detours += 1
                standing.append(item)
        assert standing == answer.split(",")
    assert detours > 10
    with pytest.raises(SystemExit):
        bench.parse_args(["--detours", "1.5"])
    assert "--detours must be a probability" in capsys.readouterr().err


@pytest.mark.parametrize("spec", ["countdown@k=3,backtrack=2", "countdown@k=4,backtrack=6"])
def test_probes_take_back_only_where_no_last_step_makes_the_target(bench, spec, capsys):
    """Each probe is a dead first step (a different one each time), steps down to two numbers
    that no last step turns into the target, the last of them a near miss, and every one of
    them taken back; the solver's answer follows, and the game accepts the whole trace."""
    game = games.make(spec)
    task = game.task
    pairs = bench.draw_pool(spec, 40, workers=1, seed=4, writing=bench.Writing(probes=0.6))
    plain = bench.draw_pool(spec, 40, workers=1, seed=4)
    probes = 0
    for (prompt, trace), (same, answer) in zip(pairs, plain, strict=True):
        assert prompt == same and trace.endswith(answer) and trace.count("<") <= task.backtrack
        bench.check_record(game, prompt, bench.to_record(game, prompt, trace, discount=1.0))
        numbers, target = StepTask.parse_prompt(prompt)
        left = task.numbers_after(numbers, [])
        depth = len(numbers) - 2
        tried = set()
        for probe in trace.removesuffix(answer).split("<" * depth)[:-1]:
            steps = probe.removesuffix(",").split(",")
            assert len(steps) == depth and steps[0] not in task.legal_steps(left, target)
            assert task.numbers_after(left, steps[:1]) not in tried
            tried.add(task.numbers_after(left, steps[:1]))
            before = task.numbers_after(left, steps[:-1])
            assert steps[-1] in task.legal_steps(before)
            pair = task.numbers_after(before, steps[-1:])
            assert not task.legal_steps(pair, target)  # the failure shows at two numbers
            if depth == 2:  # a near miss: no step on those three numbers comes closer
                misses = [bench._miss(task, before, s, target) for s in task.legal_steps(before)]
                assert bench._miss(task, before, steps[-1], target) == min(misses)
            probes += 1
    assert probes > 15
    with pytest.raises(SystemExit):
        bench.parse_args(["--probes", "0.5", "--detours", "0.5"])
    assert "pick one" in capsys.readouterr().err


def _in_order(numbers: list[int], max_value: int, order: str) -> list[tuple[str, list[int]]]:
    """Reference for the search's order: (step, numbers after it) for every legal step on
    ``numbers``, pairs by position, larger number first, + - * /; the result goes last. With
    ``order="sum"``, by the sum of the numbers left, the smallest first, then as before."""
    steps = []
    for i in range(len(numbers)):
        for j in range(i + 1, len(numbers)):
            a, b = sorted((numbers[i], numbers[j]), reverse=True)
            rest = numbers[:i] + numbers[i + 1 : j] + numbers[j + 1 :]
            for op in "+-*/":
                value = apply_step(a, op, b, max_value=max_value)
                if value is not None:
                    steps.append((f"{a}{op}{b}={value}", [*rest, value]))
    if order == "sum":
        return [step for _, step in sorted(enumerate(steps), key=lambda s: (sum(s[1][1]), s[0]))]
    return steps


def _dead_search(numbers: list[int], max_value: int, order: str) -> str:
    """Reference: a search below ``numbers`` that finds nothing tries every step there."""
    if len(numbers) == 2:
        return ""
    return "".join(
        f"{step},{_dead_search(after, max_value, order)}<"
        for step, after in _in_order(numbers, max_value, order)
    )


def _reference_search(task, numbers: list[int], target: int, order: str) -> str:
    """Reference for ``dfs_answer``, which searches: this one asks the solver at each step
    whether the target can still be made, and writes out in full every step it says cannot."""
    if len(numbers) == 2:
        a, b = max(numbers), min(numbers)
        op = next(op for op in "+-*/" if apply_step(a, op, b, max_value=task.max_value) == target)
        return f"{a}{op}{b}={target}"
    written = []
    for step, after in _in_order(numbers, task.max_value, order):
        if step in task.legal_steps(numbers, target):
            return "".join(written) + f"{step}," + _reference_search(task, after, target, order)
        written.append(f"{step},{_dead_search(after, task.max_value, order)}<")
    raise AssertionError(f"no step towards {target} on {numbers}")


@pytest.mark.parametrize("order", ["fixed", "sum"])
@pytest.mark.parametrize("spec", ["countdown@k=3,backtrack=12", "countdown@k=4,backtrack=40"])
def test_dfs_answers_are_the_whole_search_in_its_order(bench, spec, order, capsys):
    """Each answer is the depth-first search written out: every step tried before the one
    that leads to a solution, in its order, each taken back after its own subtree; the game
    accepts it within its undos, and a search that needs more undos is left out."""
    game = games.make(spec)
    task = game.task
    prompts = task.sample_prompts(60, np.random.default_rng([5, 7]))
    writing = bench.Writing(dfs=order)
    pairs = dict(bench.draw_pool(spec, 60, workers=1, seed=5, writing=writing))
    assert set(pairs) <= set(prompts)
    kept = 0
    for prompt in prompts:
        numbers, target = task.parse_prompt(prompt)
        expected = _reference_search(task, list(numbers), target, order)
        if expected.count(UNDO) > task.backtrack:
            assert prompt not in pairs and bench.dfs_answer(task, prompt, order) is None
            continue
        assert pairs[prompt] == expected
        bench.check_record(game, prompt, bench.to_record(game, prompt, expected, discount=1.0))
        kept += 1
    assert kept >= 30 and (UNDO in "".join(pairs.values()))
    if "k=4" in spec:
        assert kept < len(prompts)  # some k=4 searches take more than 40 undos
    assert bench.dfs_answer(task, "1,1,1|50" if "k=3" in spec else "1,1,1,1|90", order) is None
    with pytest.raises(SystemExit):
        bench.parse_args(["--dfs", order, "--probes", "0.5"])
    assert "pick one" in capsys.readouterr().err


def test_dfs_orders_differ_and_are_named(bench, capsys):
    """The two orders write different searches for the same problem (the sum order tries the
    steps that shrink the numbers first), ``--dfs`` alone means the fixed order, and an
    unknown order is refused with the names of the known ones."""
    task = games.make("countdown@k=4,backtrack=64").task
    prompts = task.sample_prompts(40, np.random.default_rng(3))
    answers = {o: [bench.dfs_answer(task, p, o) for p in prompts] for o in ("fixed", "sum")}
    assert sum(a != b for a, b in zip(answers["fixed"], answers["sum"], strict=True)) >= 20
    assert bench.parse_args(["--dfs"]).dfs == "fixed"
    assert bench.parse_args(["--dfs", "sum"]).dfs == "sum"
    with pytest.raises(SystemExit):
        bench.parse_args(["--dfs", "best"])
    assert "fixed" in capsys.readouterr().err
    with pytest.raises(ValueError, match="dfs order"):
        bench.dfs_answer(task, prompts[0], "best")


def test_search_lengths_count_what_each_budget_keeps(bench, tmp_path):
    """The lengths report agrees with the searches themselves: the share that fits a budget
    is the share ``dfs_answer`` keeps in a game with that many undos, and the mean lengths are
    those of the answers it keeps; ``--dfs-lengths`` writes them without training."""
    spec = "countdown@k=4"
    prompts = games.make(spec).task.sample_prompts(30, np.random.default_rng(4))
    rows = {r["order"]: r for r in bench.search_lengths(games.make(spec).task, prompts, (4, 24))}
    for order, row in rows.items():
        for budget in (4, 24):
            task = games.make(f"{spec},backtrack={budget}").task
            kept = [a for a in (bench.dfs_answer(task, p, order) for p in prompts) if a]
            assert row[f"fit_{budget}"] == pytest.approx(len(kept) / len(prompts))
            assert row[f"chars_{budget}"] == pytest.approx(np.mean([len(a) for a in kept]))
    assert rows["sum"]["mean_undos"] < rows["fixed"]["mean_undos"]
    out = tmp_path / "lengths.json"
    bench.main(["--game", spec, "--dfs-lengths", "20", "--out", str(out)])
    report = json.loads(out.read_text())
    assert report["problems"] == 20 and [r["order"] for r in report["rows"]] == ["fixed", "sum"]
    with pytest.raises(SystemExit, match="countdown searches"):
        bench.main(["--game", "tictactoe", "--dfs-lengths", "5", "--out", str(out)])


def test_masked_detours_teach_nothing_at_the_steps_taken_back(bench):
    """With ``mask_undone`` the characters of each step a later ``<`` takes back (its comma
    included) have no policy target; the ``<``, the steps that stand and END keep theirs."""
    answer = "1+2=3,<3*4=12,5-1=4,<<12*2=24"
    marks = "".join("u" if flag else "." for flag in bench.undone_characters(answer))
    assert marks == "uuuuuu." + "u" * 13 + ".." + "." * 7
    assert not bench.undone_characters("7*8=56,56-6=50").any()
    spec = "countdown@k=4,backtrack=4"
    game = games.make(spec)
    pairs = bench.draw_pool(spec, 20, workers=1, seed=4, writing=bench.Writing(detours=0.5))
    prompt, trace = next((p, t) for p, t in pairs if "<" in t)
    plain = bench.to_record(game, prompt, trace, discount=1.0)
    masked = bench.to_record(game, prompt, trace, discount=1.0, mask_undone=True)
    bench.check_record(game, prompt, masked)
    np.testing.assert_array_equal(plain.actions, masked.actions)
    kept = ~np.append(bench.undone_characters(trace), False)  # END keeps its target
    assert not kept.all()
    np.testing.assert_array_equal(masked.policies.sum(axis=1), kept.astype(np.float32))
    np.testing.assert_array_equal(masked.policies[kept], plain.policies[kept])


def test_corrections_start_where_the_network_went_and_take_its_dead_end_back(bench):
    bare, search = games.make("countdown@k=3").task, games.make("countdown@k=3,backtrack=2").task
    prompt = "3,5,7|22"
    assert bench.correction(search, prompt, "3*5=15,15+7=22" + END) is None  # accepted
    assert bench.correction(bare, prompt, "3+5=8,8") is None  # the solver's own answer
    assert bench.correction(search, prompt, "3*5=1") is None  # stopped short: nothing wrong
    trace, detour = bench.correction(search, prompt, "3+5=8,8")
    assert detour and trace.startswith("3+5=8,<") and search.verify(prompt, trace)
    trace, detour = bench.correction(bare, prompt, "3*5=15,15*")
    assert not detour and trace == "3*5=15,15+7=22"


@pytest.mark.parametrize("spec", ["countdown@k=4", "countdown@k=4,backtrack=3"])
def test_corrections_of_careless_answers(bench, spec):
    """Each correction keeps the answer up to its first mistake, is accepted (checked inside),
    and teaches nothing at the network's steps taken back, its dead end among them."""
    game = games.make(spec)
    rng = np.random.default_rng(1)
    kept = detours = 0
    for prompt in game.task.sample_prompts(200, rng):
        answer = careless_answer(game.task, prompt, rng)
        fixed = bench.correction(game.task, prompt, answer)
        if fixed is None:
            continue
        trace, detour = fixed
        mistake = bench.first_mistake(game.task, prompt, answer)
        assert trace.startswith(answer[: mistake.start])
        kept, detours = kept + 1, detours + detour
        record = bench.to_record(game, prompt, trace, 1.0, mask_undone=True)
        taught = record.policies.sum(axis=1) > 0
        assert (~taught[: len(trace)] == bench.undone_characters(trace)).all()
        if detour:
            start = mistake.start + len(mistake.step) + 1
            assert trace[start] == "<" and not taught[mistake.start : start].any()
    assert kept >= 15 and (detours >= 50) == bool(game.task.backtrack)


def test_followed_dead_ends_are_taken_back_at_a_pair_that_shows_it(bench):
    task = games.make("countdown@k=4,backtrack=6").task
    prompt = "18,86,71,44|31"  # 44-18=26 leaves 26,71,86: no way to 31
    trace, detour = bench.correction(task, prompt, "44-18=26,71-26=45,86-45=41" + END, True)
    assert detour and trace.startswith("44-18=26,71-26=45,<<")  # the network's own steps
    trace, _ = bench.correction(task, prompt, "44-18=26,71-26=4", True)  # cut short: a near miss
    assert trace.startswith("44-18=26,26+86=112,<<")  # 112-71=41, nearest to 31 of all pairs
    trace, _ = bench.correction(task, prompt, "44-18=26,71-26=45,86-45=41" + END, False)
    assert trace.startswith("44-18=26,<7")  # without follow: taken back at once
    few = games.make("countdown@k=4,backtrack=1").task  # two undos do not fit: the solver
    assert bench.correction(few, prompt, "44-18=26,71-26=45,86-45=41" + END, True) is None


@pytest.mark.parametrize("spec", ["countdown@k=4,backtrack=6", "countdown@k=5,backtrack=9"])
def test_followed_corrections_of_careless_answers(bench, spec):
    """Each followed dead end goes on with the answer's own steps while they are legal and
    complete, down to a pair that cannot make the target, then takes all of them back."""
    task = games.make(spec).task
    rng = np.random.default_rng(2)
    detours = own = 0
    for prompt in task.sample_prompts(200, rng):
        answer = careless_answer(task, prompt, rng)
        fixed = bench.correction(task, prompt, answer, follow=True)
        if fixed is None or not fixed[1]:
            continue
        _, target = task.parse_prompt(prompt)
        mistake = bench.first_mistake(task, prompt, answer)
        probe, _, _ = fixed[0][mistake.start :].partition(UNDO)
        steps = probe.split(",")[:-1]
        assert fixed[0].startswith(answer[: mistake.start] + probe + UNDO * len(steps))
        left, mine = mistake.left, 0  # the answer's own steps from the dead end on, while legal
        for step in answer[mistake.start :].split(",")[:-1]:
            if len(left) == 2 or step not in task.legal_steps(left):
                break
            left, mine = task.numbers_after(left, [step]), mine + 1
        assert (
            steps[0] == mistake.step and steps[:mine] == answer[mistake.start :].split(",")[:mine]
        )
        own += mine > 1
        pair = task.numbers_after(mistake.left, steps)
        assert len(pair) == 2 and not task.legal_steps(pair, target)
        detours += 1
    assert detours >= 30 and own >= 5


@pytest.mark.parametrize("probes", [[], ["--own-probes"]])
def test_a_run_with_its_own_mistakes_counts_their_corrections(bench, tmp_path, probes):
    out = tmp_path / "ceiling.json"
    bench.main(["--game", "countdown@k=3,backtrack=2", "--minutes", "0.05", "--pool", "40",
                "--problems", "5", "--eval-every", "1", "--own-mistakes", "30", *probes,
                "model.blocks=1", "model.channels=16", "--out", str(out)])  # fmt: skip
    report = json.loads(out.read_text())
    assert report["own_mistakes"] == 30 and report["own_share"] == 0.25
    assert report["own_probes"] == bool(probes)
    rows = report["history"]
    assert all(0 <= r["own_detours"] <= r["own_corrections"] <= 30 for r in rows)


def test_own_probes_need_own_mistakes_in_a_game_with_undos(bench):
    from selfplay.config import ConfigError

    with pytest.raises(SystemExit):
        bench.parse_args(["--own-probes"])
    args = bench.parse_args(["--game", "countdown@k=3", "--own-mistakes", "5", "--own-probes"])
    with pytest.raises(ConfigError, match="backtrack"):
        bench.run(args, bench.Console(quiet=True))


def test_a_run_with_favourites_times_them(bench, tmp_path):
    out = tmp_path / "ceiling.json"
    bench.main(["--game", "countdown@k=3", "--minutes", "0.05", "--pool", "40", "--problems",
                "5", "--eval-every", "1", "--favourites", "30", "--own-share", "0.5",
                "model.blocks=1", "model.channels=16", "--out", str(out)])  # fmt: skip
    report = json.loads(out.read_text())
    assert report["favourites"] == 30 and report["own_share"] == 0.5
    assert all(r["favourites_s"] >= 0 for r in report["history"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--favourites", "5", "--own-mistakes", "5"])


def test_a_run_starts_from_an_earlier_network_with_a_longer_position_table(bench, tmp_path):
    """``--init``: the saved model and average load into a game with more undos (longer
    observations); the saved position rows are copied and the new ones keep their values."""
    from selfplay.config import ConfigError, resolve
    from selfplay.learner import Learner

    def learner(spec: str, *overrides: str) -> tuple[Learner, object, object]:
        config = resolve([f"game={spec}", "model.blocks=1", "model.channels=16", *overrides])
        game = games.make(config.game)
        return Learner(game.spec, config.model, config.learner, "cpu", seed=3), game, config

    saved, game, config = learner("countdown@k=3", "learner.ema=0.9")
    saved.train_step(*[np.asarray(a) for a in _one_batch(bench, game)])
    bench.save_network(tmp_path / "net.pt", game, config, saved)
    fresh, longer, _ = learner("countdown@k=3,backtrack=4", "learner.ema=0.9")
    before = fresh.model.stem.position.detach().clone()
    bench.start_from(fresh, tmp_path / "net.pt")
    rows = game.spec.observation_shape[0]
    assert longer.spec.observation_shape[0] > rows
    for model, source in ((fresh.model, saved.model), (fresh.average, saved.average)):
        for name, tensor in source.state_dict().items():
            mine = model.state_dict()[name]
            torch.testing.assert_close(mine[: len(tensor)], tensor, rtol=0, atol=0)
    torch.testing.assert_close(fresh.model.stem.position[rows:], before[rows:], rtol=0, atol=0)
    wider, _, _ = learner("countdown@k=3", "model.channels=32")
    with pytest.raises(ConfigError, match="shape"):
        bench.start_from(wider, tmp_path / "net.pt")


def _one_batch(bench, game):
    """A training batch of two solver answers."""
    from selfplay.replay import ReplayBuffer

    pairs = bench.draw_pool("countdown@k=3", 2, workers=1, seed=1)
    records = [bench.to_record(game, p, a, discount=1.0) for p, a in pairs]
    buffer = ReplayBuffer(100, game.spec.observation_shape, game.spec.num_actions, 0)
    buffer.add(records)
    return buffer.sample(8, whole_games=True)
