"""Text games: the game API over tasks, the step grammars against brute-force references, the
published data splits, and the option syntax of game specs."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import games
from games.conformance import assert_conforms
from games.text.countdown import HELD_OUT_TARGETS
from games.text.steps import StepTask
from games.text.task import END, TextGame
from games.text.verifier import apply_step, check_step_prefix, check_steps, solve_steps
from selfplay.text_eval import decode

GAME24_CSV = Path(__file__).resolve().parents[2] / "shared" / "text" / "game24.csv"
SPECS = [
    "countdown@k=3",
    "countdown@k=4,mode=guided",
    "countdown@k=5,mode=guided",
    f"game24@data={GAME24_CSV}",
    f"game24@mode=guided,data={GAME24_CSV}",
    f"game24@backtrack=3,data={GAME24_CSV}",
    "countdown@k=4,backtrack=2",
    "addition@digits=4",
]


@pytest.mark.parametrize("spec", SPECS)
def test_text_games_conform(spec):
    assert_conforms(games.make(spec), num_games=24)


def type_answer(game: TextGame, prompt: str, text: str) -> np.ndarray:
    """Plays ``text`` into a fresh state character by character (stopping when the game
    ends); every character must be legal when it is played."""
    states = game.states_from_prompts([prompt])
    for char in text:
        if game.is_terminal(states)[0]:
            break
        states = game.apply_actions(states, np.array([game.encode(char)[0]]))
    return states


def play_steps(game: TextGame, prompt: str, answer: str) -> np.ndarray:
    """Plays a step answer: in free mode every character, in guided mode only the operands,
    operators and '=' (the game writes results)."""
    if game.task.mode == "free":
        return type_answer(game, prompt, answer + END)
    states = game.states_from_prompts([prompt])
    for step in answer.split(","):
        for char in step.partition("=")[0] + "=":
            states = game.apply_actions(states, np.array([game.encode(char)[0]]))
    return states


@pytest.mark.parametrize("mode", ["free", "guided"])
@pytest.mark.parametrize("k", [3, 4])
def test_solver_answers_are_playable_and_accepted(k, mode):
    game = games.make(f"countdown@k={k},mode={mode}")
    for prompt in game.task.test_prompts("seen", limit=40):
        numbers, target = StepTask.parse_prompt(prompt)
        answer = solve_steps(list(numbers), target, max_value=game.task.max_value)
        final = play_steps(game, prompt, answer)
        assert game.is_terminal(final)[0], game.render(final)
        assert game.returns(final)[0, 0] == 1.0, game.render(final)
        assert game.answer(final) == answer + END


@pytest.mark.parametrize("mode", ["free", "guided"])
def test_a_curriculum_mixes_problem_sizes_and_each_takes_its_own_steps(mode):
    game = games.make(f"countdown@k=4,min_k=3,mode={mode}")
    prompts = game.task.sample_prompts(60, np.random.default_rng(2))
    sizes = Counter(len(StepTask.parse_prompt(p)[0]) for p in prompts)
    assert set(sizes) == {3, 4} and min(sizes.values()) >= 15
    for prompt in prompts[:20]:
        numbers, target = StepTask.parse_prompt(prompt)
        answer = solve_steps(list(numbers), target, max_value=game.task.max_value)
        final = play_steps(game, prompt, answer)
        assert game.returns(final)[0, 0] == 1.0 and game.answer(final) == answer + END
        if mode == "free":  # one step short of the end, the grammar wants another step
            short = type_answer(game, prompt, answer.rpartition(",")[0])
            legal = game.legal_actions_mask(short)[0]
            assert legal[game.encode(",")[0]] and not legal[game.encode(END)[0]]
    # Tests and the gate's validation problems stay at k: the curriculum is for training.
    test = game.task.test_prompts("seen", limit=20)
    assert all(len(StepTask.parse_prompt(p)[0]) == 4 for p in test)
    validation = game.validation_states(30, np.random.default_rng(3))
    prompts = [game.prompt(validation, i) for i in range(30)]
    assert all(len(StepTask.parse_prompt(p)[0]) == 4 for p in prompts)
    assert len(set(prompts)) == 30 and not set(prompts) & set(game.task.test_prompts("seen"))
    with pytest.raises(ValueError, match=r"min_k must be 2\.\.k=4"):
        games.make("countdown@k=4,min_k=5")


def test_a_wrong_result_loses_in_free_mode():
    game = games.make("countdown@k=3")
    prompt = game.task.test_prompts("seen", limit=1)[0]
    numbers, target = StepTask.parse_prompt(prompt)
    answer = solve_steps(list(numbers), target, max_value=9999)
    last = answer.rindex("=") + 1
    wrong = answer[:last] + str(int(answer[last:]) + 1)
    final = type_answer(game, prompt, wrong + END)
    assert game.returns(final)[0, 0] == -1.0
    assert game.verifier_calls == 1


def _reference_guided_next(numbers, target, answer, k, max_value):
    """Brute force: the characters c such that answer + c is a prefix of some sequence of
    legal steps written in full ("a op b=" with the game writing the result)."""
    del target
    left = Counter(numbers)
    steps = answer.split(",")
    for step in steps[:-1]:
        a, op, rest = step[0], None, None
        for i, ch in enumerate(step):
            if ch in "+-*/" and i > 0:
                a, op, rest = step[:i], ch, step[i + 1 :]
                break
        b, _, result = rest.partition("=")
        left[int(a)] -= 1
        left[int(b)] -= 1
        left[int(result)] += 1
    current = steps[-1]
    pool = list((+left).elements())
    nexts = set()
    for i, j in itertools.permutations(range(len(pool)), 2):
        for op in "+-*/":
            r = apply_step(pool[i], op, pool[j])
            if r is None or r > max_value:
                continue
            text = f"{pool[i]}{op}{pool[j]}="
            if text.startswith(current) and len(text) > len(current):
                nexts.add(text[len(current)])
    return "".join(sorted(nexts))


def test_guided_mask_matches_brute_force_on_random_play():
    game = games.make("countdown@k=4,mode=guided")
    rng = np.random.default_rng(3)
    states = game.new_initial_states(60, rng)
    checked = 0
    while not game.is_terminal(states).all():
        mask = game.legal_actions_mask(states)
        for i in np.flatnonzero(~game.is_terminal(states)):
            prompt, answer = game.prompt(states, i), game.answer(states, i)
            numbers, target = StepTask.parse_prompt(prompt)
            expected = _reference_guided_next(list(numbers), target, answer, 4, 9999)
            got = "".join(sorted(game.action_to_string(a) for a in np.flatnonzero(mask[i])))
            assert got == expected, (prompt, answer)
            checked += 1
        actions = np.array([rng.choice(np.flatnonzero(m)) for m in mask])
        states = game.apply_actions(states, actions)
    assert checked > 300
    # Guided steps are always legal, so the verdict is exactly "did it reach the target".
    for i in range(len(states)):
        prompt, answer = game.prompt(states, i), game.answer(states, i)
        numbers, target = StepTask.parse_prompt(prompt)
        reached = int(answer.removesuffix(END).rsplit("=", 1)[1]) == target
        assert (game.returns(states[i : i + 1])[0, 0] > 0) == reached
        assert bool(check_steps(answer.removesuffix(END), numbers, target)) == reached


def test_free_grammar_allows_exactly_well_formed_answers():
    """Random free play writes only strings of the step grammar, and the verdict is the
    verifier's."""
    game = games.make("countdown@k=3").without_early_verdicts()
    final = decode(game, None, game.new_initial_states(200, np.random.default_rng(0)),
                   np.random.default_rng(1))  # fmt: skip
    for i in range(len(final)):
        answer = game.answer(final, i)
        assert answer.endswith(END)
        steps = answer.removesuffix(END).split(",")
        assert len(steps) == 2
        for step in steps:
            lhs, _, result = step.partition("=")
            assert result.isdigit() and (result == "0" or not result.startswith("0"))
            assert sum(lhs.count(op) for op in "+-*/") == 1
        numbers, target = StepTask.parse_prompt(game.prompt(final, i))
        verdict = check_steps(answer.removesuffix(END), numbers, target, max_digits=4)
        assert (game.returns(final[i : i + 1])[0, 0] > 0) == verdict.accepted


def test_a_mistake_loses_at_the_character_that_makes_it():
    game = games.make("countdown@k=4")
    prompt = "10,20,3,7|90"
    cases = {
        "10+20=31": "10+20 is 30, not 31",  # a wrong digit of a result
        "10+20=300": "10+20 is 30, not 300",
        "10+20=3,": "10+20 is 30, not 3",  # a result cut short
        "11": "no step begins 11 (numbers left: 3, 7, 10, 20)",  # not a number there
        "10+20=30,30*30": "no legal step begins 30*30 (numbers left: 3, 7, 30)",  # one 30
        "3-": "no step begins 3- (numbers left",  # 3 minus anything left is negative
        "10+20=30,3*30=90,9": "no step that makes the target 90 begins 9 ",  # 7 is left
    }
    for text, reason in cases.items():
        final = type_answer(game, prompt, text)
        assert game.is_terminal(final)[0] and game.returns(final)[0, 0] == -1, text
        assert game.answer(final) == text.removesuffix(END), text
        assert reason in game.explain(final).reason, (text, game.explain(final).reason)
    reachable = "10,20,3,7|97"
    final = type_answer(game, reachable, "10+20=30,3*30=90,90-")
    assert "no step that makes the target 97 begins 90-" in game.explain(final).reason
    final = type_answer(game, reachable, "10+20=30,3*30=90,90+7=98")
    assert game.answer(final) == "10+20=30,3*30=90,90+7=98"
    final = type_answer(game, reachable, "10+20=30,3*30=90,90+7=97" + END)
    assert game.returns(final)[0, 0] == 1 and game.explain(final).accepted
    # Without early verdicts a wrong answer runs on, to be rejected at its end.
    late = game.without_early_verdicts()
    assert not late.is_terminal(type_answer(late, prompt, "10+20=31,"))[0]
    final = type_answer(late, prompt, "10+20=31,31*3=93,93-3=90" + END)
    assert late.returns(final)[0, 0] == -1 and late.spec == game.spec
    assert "step 1: 10+20 is 30, not 31" in late.explain(final).reason


def test_early_verdicts_agree_with_the_verifier():
    """Random free play with early verdicts: a game still running after a ',' has only legal
    steps (the verifier's prefix check), and every finished answer gets the verifier's verdict
    on what was written."""
    game = games.make("countdown@k=3")
    rng = np.random.default_rng(5)
    states = game.new_initial_states(300, rng)
    prompts = [game.prompt(states, i) for i in range(len(states))]
    while not game.is_terminal(states).all():
        for i in np.flatnonzero(~game.is_terminal(states)):
            answer = game.answer(states, i)
            if answer.endswith(","):
                numbers, _ = StepTask.parse_prompt(prompts[i])
                assert check_step_prefix(answer[:-1], numbers, max_digits=4), answer
        mask = game.legal_actions_mask(states)
        # Half the time the first legal character, else a random one: long answers happen.
        actions = np.array([np.flatnonzero(m)[0] if rng.random() < 0.5
                            else rng.choice(np.flatnonzero(m)) for m in mask])  # fmt: skip
        states = game.apply_actions(states, actions)
    for i in range(len(states)):
        numbers, target = StepTask.parse_prompt(prompts[i])
        text = game.answer(states, i).removesuffix(END)
        accepted = bool(check_steps(text, numbers, target, max_digits=4))
        assert (game.returns(states[i : i + 1])[0, 0] > 0) == accepted


def test_countdown_splits_keep_test_problems_out_of_training():
    task = games.make("countdown@k=3").task
    train = task.sample_prompts(3000, np.random.default_rng(0))
    seen, held = task.test_prompts("seen", limit=300), task.test_prompts("heldout", limit=300)
    assert task.test_prompts("seen", limit=300) == seen  # fixed
    key = lambda p: (tuple(sorted(StepTask.parse_prompt(p)[0])), StepTask.parse_prompt(p)[1])  # noqa: E731
    assert not {key(p) for p in train} & {key(p) for p in seen + held}
    assert all(StepTask.parse_prompt(p)[1] not in HELD_OUT_TARGETS for p in train + seen)
    assert all(StepTask.parse_prompt(p)[1] in HELD_OUT_TARGETS for p in held)
    for prompt in train[:200] + seen[:100]:
        numbers, target = StepTask.parse_prompt(prompt)
        assert all(1 <= n <= 99 for n in numbers) and 10 <= target <= 100
        assert solve_steps(list(numbers), target) is not None


def test_sorted_prompts_hold_the_same_problems_in_order():
    drawn, ordered = games.make("countdown@k=4").task, games.make("countdown@k=4,order=sorted").task
    for split in drawn.splits:
        plain, tidy = drawn.test_prompts(split, limit=200), ordered.test_prompts(split, limit=200)
        for a, b in zip(plain, tidy, strict=True):
            (numbers, target), (sorted_numbers, same_target) = map(StepTask.parse_prompt, (a, b))
            assert sorted_numbers == tuple(sorted(numbers)) and same_target == target
    assert any(p != q for p, q in zip(plain, tidy, strict=True))  # drawn order is not sorted
    curriculum = games.make("countdown@k=4,min_k=3,order=sorted").task
    for prompt in curriculum.sample_prompts(300, np.random.default_rng(0)):
        numbers = StepTask.parse_prompt(prompt)[0]
        assert list(numbers) == sorted(numbers) and len(numbers) in (3, 4)
    assert "numbers sorted" in games.make("countdown@order=sorted").task.describe()
    with pytest.raises(games.GameLoadError, match=r"order must be one of \('drawn', 'sorted'\)"):
        games.make("countdown@order=random")


def test_game24_splits_follow_the_published_ranks():
    task = games.make(f"game24@data={GAME24_CSV}").task
    test = task.test_prompts("test")
    assert len(test) == 362 and len(task.test_prompts("tot")) == 100
    # The README's count: 346 of the test puzzles can be solved without negative or
    # fractional intermediate results.
    solvable = [p for p in test if solve_steps(list(StepTask.parse_prompt(p)[0]), 24)]
    assert len(solvable) == 346
    train = task.sample_prompts(500, np.random.default_rng(0))
    assert not set(train) & set(test)


def test_game24_other_targets_widen_training_but_not_the_test():
    task = games.make(f"game24@data={GAME24_CSV},other_targets=0.5").task
    test_sets = {StepTask.parse_prompt(p)[0] for p in task.test_prompts("test")}
    train = [StepTask.parse_prompt(p) for p in task.sample_prompts(2000, np.random.default_rng(1))]
    assert not {numbers for numbers, _ in train} & test_sets  # whatever the target
    share_24 = np.mean([target == 24 for _, target in train])
    assert 0.45 < share_24 < 0.55
    assert len({target for _, target in train}) > 50
    assert all(
        1 <= target <= 99 and all(1 <= n <= 13 for n in numbers) for numbers, target in train
    )
    assert all(solve_steps(list(numbers), target) for numbers, target in train[:300])
    validation = task.validation_prompts(200, np.random.default_rng(2))
    assert all(StepTask.parse_prompt(p)[1] == 24 for p in validation)
    # Hindsight may relabel to another training target only when training has them.
    plain = games.make(f"game24@data={GAME24_CSV}").task
    seen, unseen = (1, 2, 3, 4), next(iter(test_sets))
    assert task.is_training_problem(seen, 37) and task.is_training_problem(seen, 24)
    assert not task.is_training_problem(unseen, 37) and not task.is_training_problem(seen, 100)
    assert not plain.is_training_problem(seen, 37)
    with pytest.raises(games.GameLoadError, match=r"other_targets must be a share in \[0, 1\]"):
        games.make(f"game24@data={GAME24_CSV},other_targets=1.5")


def test_game24_without_data_names_where_to_get_it(tmp_path):
    with pytest.raises(games.GameLoadError, match="tree-of-thought-llm"):
        games.make(f"game24@data={tmp_path / 'missing.csv'}")


def test_addition_verdicts_match_arithmetic():
    game = games.make("addition@digits=3")
    rng = np.random.default_rng(0)
    for prompt in game.task.sample_prompts(50, rng):
        a, b = map(int, prompt.split("+"))
        good = type_answer(game, prompt, str(a + b)[::-1] + END)
        assert game.returns(good)[0, 0] == 1.0
        bad = type_answer(game, prompt, str(a + b + 1)[::-1] + END)
        assert game.returns(bad)[0, 0] == -1.0


def test_game_options_are_parsed_and_checked():
    game = games.make("countdown@k=3,mode=guided")
    assert (game.task.k, game.task.mode) == (3, "guided")
    assert game.source == "countdown@k=3,mode=guided"
    with pytest.raises(games.GameLoadError, match="its options: k, mode, max_digits"):
        games.make("countdown@q=3")
    with pytest.raises(games.GameLoadError, match="name=value"):
        games.make("countdown@3")
    # Too few digits for the prompt's numbers: refused, not an endless search for problems.
    with pytest.raises(games.GameLoadError, match=r"max_digits must be an int >= 2.*up to 99"):
        games.make("countdown@k=3,max_digits=1")
    with pytest.raises(games.GameLoadError, match=r"max_digits must be an int >= 2.*up to 13"):
        games.make(f"game24@data={GAME24_CSV},max_digits=1")
    with pytest.raises(games.GameLoadError, match="mode must be one of"):
        games.make("countdown@mode=fast")


def test_a_task_file_plugs_in(tmp_path):
    source = '''
from games.text import END, TextTask
from games.text.verifier import Verdict

class Echo(TextTask):
    """Repeat the prompt's digits."""
    name = "echo"
    alphabet = "0123456789"
    max_prompt_length = 3
    max_answer_length = 4

    def sample_prompts(self, n, rng):
        return [str(x) for x in rng.integers(100, 1000, n)]

    def allowed_next(self, prompt, answer):
        return "0123456789" + (END if answer else "")

    def verify(self, prompt, answer):
        return Verdict(answer == prompt, "" if answer == prompt else "not an echo")
'''
    path = tmp_path / "echo.py"
    path.write_text(source)
    game = games.make(f"{path}:Echo")
    assert isinstance(game, TextGame) and game.spec.vocabulary_size == game.spec.num_actions
    assert_conforms(game, num_games=16)
    final = type_answer(game, "123", "123" + END)
    assert game.returns(final)[0, 0] == 1.0


def _hindsight_reference(prompt: str, answer: str, is_test) -> set[tuple[str, str]]:
    """Every (prompt, answer) a failed countdown answer may be relabelled to, by brute force:
    its complete steps replayed with ``apply_step``, then every last step on the two numbers
    left whose result is a training target other than the original one (``is_test(prompt)``
    says which problems the test sets keep)."""
    numbers, target = StepTask.parse_prompt(prompt)
    *done, _ = answer.removesuffix(END).split(",")
    left = Counter(numbers)
    for step in done:
        a, op, b, value = _parse_step(step)
        if len(done) != len(numbers) - 2 or apply_step(a, op, b) != value or left[a] < 1:
            return set()
        left[a] -= 1
        if left[b] < 1:
            return set()
        left[b] -= 1
        left[value] += 1
    if len(done) != len(numbers) - 2:
        return set()
    x, y = sorted(left.elements())
    found = set()
    for a, b in ((x, y), (y, x)):
        for op in "+-*/":
            value = apply_step(a, op, b)
            if value is None or value == target or value in HELD_OUT_TARGETS:
                continue
            new = StepTask.format_prompt(numbers, value)
            if 10 <= value <= 100 and not is_test(new):
                found.add((new, ",".join([*done, f"{a}{op}{b}={value}"]) + END))
    return found


def _parse_step(step: str) -> tuple[int, str, int, int]:
    for i, c in enumerate(step[1:], 1):
        if c in "+-*/":
            b, _, value = step[i + 1 :].partition("=")
            return int(step[:i]), c, int(b), int(value)
    raise AssertionError(f"not a step: {step}")


@pytest.mark.parametrize("k", [3, 4])
def test_hindsight_relabels_a_missed_target_to_the_one_the_answer_reached(k):
    """Random free play; every lost game is relabelled to a problem its plan does solve:
    one the brute-force reference allows (same numbers, a training target, the same complete
    steps) that begins like the last step written, and the game plays it out to a win."""
    game = games.make(f"countdown@k={k}")
    task = game.task

    # Test problems are the ones whose key (the task's hash) the test sets reserve.
    def is_test(prompt: str) -> bool:
        numbers, target = StepTask.parse_prompt(prompt)
        return task.problem_keys(np.array([numbers]), np.array([target]))[0] % 50 == 0

    rng = np.random.default_rng(k)
    states = np.concatenate([random_answers(game, 100, rng), planned_answers(game, 300, rng)])
    relabelled = 0
    for i in np.flatnonzero(game.returns(states)[:, 0] < 0):
        prompt, answer = game.prompt(states, i), game.answer(states, i)
        allowed = _hindsight_reference(prompt, answer, is_test)
        found = task.hindsight(prompt, answer, rng)
        if not allowed:
            assert found is None, (prompt, answer, found)
            continue
        relabelled += 1
        last = answer.removesuffix(END).split(",")[-1]
        best = max(_shared(a, last) for _, a in allowed)
        assert found in allowed and _shared(found[1], last) == best, (prompt, answer, found)
        path, actions = game.hindsight(states[i : i + 1], rng)
        played = (game.prompt(path, 0), game.answer(path, len(path) - 1))
        assert played in allowed and _shared(played[1], last) == best
        assert len(path) == len(actions) + 1 and game.returns(path[-1:])[0, 0] == 1
        for t in range(len(actions)):
            np.testing.assert_array_equal(
                game.apply_actions(path[t : t + 1], actions[t : t + 1])["tokens"],
                path[t + 1 : t + 2]["tokens"],
            )
    assert relabelled > 20  # random play reaches the last step often enough to test


def _shared(answer: str, last: str) -> int:
    """How many characters the last step of ``answer`` begins with like ``last``."""
    step, n = answer.split(",")[-1], 0
    while n < min(len(step), len(last)) and step[n] == last[n]:
        n += 1
    return n


def random_answers(game, n: int, rng: np.random.Generator, states=None) -> np.ndarray:
    """``n`` training problems (or ``states``) answered by random legal play to the end."""
    states = game.new_initial_states(n, rng) if states is None else states
    while not game.is_terminal(states).all():
        mask = game.legal_actions_mask(states)
        states = game.apply_actions(states, np.array([rng.choice(np.flatnonzero(m)) for m in mask]))
    return states


def planned_answers(game, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` training problems answered with random legal steps (drawn by brute force with
    ``apply_step``) up to the last step, then random legal characters: most miss the target
    in the last step, as the network's planning mistakes do."""
    states = game.new_initial_states(n, rng)
    for i in range(n):
        numbers, _ = StepTask.parse_prompt(game.prompt(states, i))
        left, steps = list(numbers), []
        while len(left) > 2:
            a, b, op = *rng.choice(len(left), 2, replace=False), "+-*/"[rng.integers(4)]
            value = apply_step(left[a], op, left[b])
            if value is not None and value < 10_000:
                steps.append(f"{left[a]}{op}{left[b]}={value}")
                left = [x for j, x in enumerate(left) if j not in (a, b)] + [value]
        states[i] = type_answer(game, game.prompt(states, i), ",".join(steps) + ",")[0]
    return random_answers(game, n, rng, states)


def test_hindsight_plays_guided_answers_and_leaves_fixed_targets_alone():
    guided = games.make("countdown@k=3,mode=guided")
    rng = np.random.default_rng(0)
    states = random_answers(guided, 100, rng)
    lost = np.flatnonzero(guided.returns(states)[:, 0] < 0)
    twins = [guided.hindsight(states[i : i + 1], rng) for i in lost]
    assert sum(t is not None for t in twins) > 20
    for path, actions in (t for t in twins if t is not None):
        # The game writes each result itself: fewer actions than characters.
        assert len(actions) < len(guided.answer(path, len(path) - 1))
        assert guided.returns(path[-1:])[0, 0] == 1
    # Game of 24's target is always 24; addition has no relabelling: no twins.
    game24 = games.make(f"game24@data={GAME24_CSV}")
    addition = games.make("addition@digits=3")
    for game, states in ((game24, planned_answers(game24, 50, rng)),
                         (addition, random_answers(addition, 50, rng))):  # fmt: skip
        assert all(game.hindsight(states[i : i + 1], rng) is None for i in range(50))
    # Unless the Game of 24 also trains on other targets: then a missed 24 has twins.
    game = games.make(f"game24@data={GAME24_CSV},other_targets=0.5")
    states = planned_answers(game, 50, rng)
    twins = [game.hindsight(states[i : i + 1], rng) for i in range(50)]
    assert sum(t is not None for t in twins) > 10
    for path, _ in (t for t in twins if t is not None):
        assert game.returns(path[-1:])[0, 0] == 1
    # Board games have none either.
    board = games.make("tictactoe")
    assert board.hindsight(board.new_initial_states(1), rng) is None


def _accepted_answers(numbers: tuple[int, ...], target: int) -> list[str]:
    """Every accepted step answer, by brute force over ordered pairs and operators."""
    if len(numbers) == 1:
        return [""] if numbers[0] == target else []
    found = []
    for i, j in itertools.permutations(range(len(numbers)), 2):
        for op in "+-*/":
            value = apply_step(numbers[i], op, numbers[j])
            if value is None:
                continue
            rest = (*(n for index, n in enumerate(numbers) if index not in (i, j)), value)
            step = f"{numbers[i]}{op}{numbers[j]}={value}"
            found += [
                step + ("," + more if more else "") for more in _accepted_answers(rest, target)
            ]
    return found


def test_dead_ends_lose_at_the_first_character_no_accepted_answer_follows():
    """With reject=dead_end, random free play is still writing exactly while some accepted
    answer (all of them enumerated by brute force) begins with what it wrote."""
    game = games.make("countdown@k=3,reject=dead_end")
    rng = np.random.default_rng(7)
    states = game.new_initial_states(60, rng)
    answers = {
        i: _accepted_answers(*StepTask.parse_prompt(game.prompt(states, i))) for i in range(60)
    }
    assert all(answers.values())  # training problems are solvable
    while not game.is_terminal(states).all():
        for i in range(len(states)):
            written = game.answer(states, i)
            alive = any((a + END).startswith(written) for a in answers[i])
            assert alive == (game.returns(states[i : i + 1])[0, 0] >= 0), (answers[i][:3], written)
        mask = game.legal_actions_mask(states)
        # Mostly characters of an accepted answer, so that games get far; else random ones.
        actions = []
        for i, m in enumerate(mask):
            written = game.answer(states, i)
            good = [
                a + END
                for a in answers[i]
                if (a + END).startswith(written) and len(a) >= len(written)
            ]
            if good and rng.random() < 0.97 and not game.is_terminal(states[i : i + 1])[0]:
                actions.append(game.encode(good[rng.integers(len(good))][len(written)])[0])
            else:
                actions.append(rng.choice(np.flatnonzero(m)))
        states = game.apply_actions(states, np.array(actions))
    won = game.returns(states)[:, 0] > 0
    assert 5 < won.sum() < 55
    for i in range(len(states)):  # the verdict on every finished answer is the verifier's
        text = game.answer(states, i).removesuffix(END)
        assert won[i] == bool(game.task.verify(game.prompt(states, i), text))
    late = type_answer(game, "5,8,12|37", "5")
    assert game.returns(late)[0, 0] == -1
    assert "the target 37 can no longer be made after 5 " in game.explain(late).reason
    with pytest.raises(ValueError, match="reject=dead_end needs mode=free"):
        games.make("countdown@k=3,mode=guided,reject=dead_end")
    with pytest.raises(ValueError, match="reject must be one of"):
        games.make("countdown@k=3,reject=plan")


def test_evaluations_play_without_dead_end_rejections():
    """``for_evaluation`` drops reject=dead_end (a solver's hints to the search) and keeps
    everything else: the spec, the test problems and the verdicts on finished answers."""
    trained = games.make("countdown@k=3,reject=dead_end")
    game = trained.for_evaluation()
    assert game.spec == trained.spec and game.source == trained.source
    assert game.task.test_prompts("seen", limit=20) == trained.task.test_prompts("seen", limit=20)
    assert trained.task.dead_ends  # the training game is left as it was
    dead_end = type_answer(game, "3,7,25|46", "25+7=32,")  # a valid step; 46 is out of reach
    assert not game.is_terminal(dead_end)[0]
    assert type_answer(trained, "3,7,25|46", "25+7=32,")["verdict"][0] == -1
    for answer, verdict in (("7*3=21,25+21=46", 1), ("25+7=32,32+3=35", -1)):
        for g in (game, trained):
            assert g.returns(type_answer(g, "3,7,25|46", answer + END))[0, 0] == verdict
    plain = games.make("countdown@k=3")
    assert plain.for_evaluation() is plain
    assert games.make("game24@other_targets=0.5").for_evaluation().task.other_targets == 0.5


# -- backtrack: a search written out -----------------------------------------------------------

STEP = re.compile(r"(\d+)([+\-*/])(\d+)=(\d+)")


def reference_trace(text: str, numbers: tuple[int, ...], target: int, undos: int) -> bool:
    """Whether a trace of the backtrack grammar solves the problem: a stack of the multisets
    after each step still standing; every step written legal where it was written."""
    if text.count("<") > undos:
        return False
    if not re.fullmatch(rf"(?:{STEP.pattern},|<)*{STEP.pattern}", text):
        return False
    stack = [Counter(numbers)]
    for item in re.finditer(rf"{STEP.pattern}|<", text):
        if item.group() == "<":
            if len(stack) == 1:
                return False
            stack.pop()
            continue
        a, op, b, c = int(item[1]), item[2], int(item[3]), int(item[4])
        left = stack[-1].copy()
        left[a] -= 1
        left[b] -= 1
        if min(left.values()) < 0 or apply_step(a, op, b, max_value=9999) != c:
            return False
        left[c] += 1
        stack.append(+left)
    last = stack[-1]
    return sum(last.values()) == 1 and last[target] == 1


def test_backtrack_takes_back_steps_and_the_steps_left_must_solve():
    game = games.make("countdown@k=4,backtrack=2")
    assert game.rules is None and "<" in game.chars  # the Python rules play traces
    prompt = "10,20,3,7|97"
    trace = "10*20=200,<10+20=30,3*30=90,90+7=97" + END
    final = type_answer(game, prompt, trace)
    assert game.returns(final)[0, 0] == 1 and game.answer(final) == trace
    # A dead end (the target 97 can no longer be made from 7, 30, 30) is no loss: it may be
    # taken back, two steps at once too.
    final = type_answer(game, prompt, "10+20=30,3+7=10,<<10+20=30,3*30=90,90+7=97" + END)
    assert game.returns(final)[0, 0] == 1
    # Undos: only at the start of a step, only with a step standing, at most `backtrack`.
    states = type_answer(game, prompt, "")
    assert "<" not in decode_legal(game, states)
    assert "<" not in decode_legal(game, type_answer(game, prompt, "10+20=30"))
    assert "<" in decode_legal(game, type_answer(game, prompt, "10+20=30,"))
    assert "<" not in decode_legal(game, type_answer(game, prompt, "10+20=30,<"))
    assert "<" not in decode_legal(game, type_answer(game, prompt, "10+20=30,<3+7=10,<10*3=30,"))
    assert "<" not in decode_legal(game, type_answer(game, prompt, "3+7=10,<3+7=10,<3+7=10,"))
    # A wrong step and a last step that misses the target still lose where they are written.
    final = type_answer(game, prompt, "10+20=31")
    assert game.returns(final)[0, 0] == -1 and "not 31" in game.explain(final).reason
    final = type_answer(game, prompt, "10+20=30,3*30=90,90-")
    assert game.returns(final)[0, 0] == -1 and "target 97" in game.explain(final).reason
    with pytest.raises(games.GameLoadError, match="backtrack needs mode=free and reject=step"):
        games.make("countdown@k=4,backtrack=2,reject=dead_end")
    with pytest.raises(games.GameLoadError, match=r"backtrack .* must be an int 0\.\.64"):
        games.make("countdown@k=4,backtrack=-1")


def decode_legal(game: TextGame, states: np.ndarray) -> str:
    """The characters legal in the first state."""
    return "".join(
        game.action_to_string(a) for a in np.flatnonzero(game.legal_actions_mask(states)[0])
    )


def random_trace(
    numbers: tuple[int, ...], target: int, undos: int, rng: np.random.Generator
) -> str:
    """A trace in the backtrack grammar that may go anywhere: up to ``undos`` undos, random
    legal steps, wrong results, and the solver's step from the numbers standing, until one
    number is left."""
    stack, items = [tuple(sorted(numbers))], []
    while len(stack[-1]) > 1:
        left, draw = stack[-1], rng.random()
        if draw < 0.25 and len(stack) > 1 and items.count("<") < undos:
            stack.pop()
            items.append("<")
            continue
        step = solve_steps(left, target, max_value=9999)
        if step is None or draw < 0.55:
            i, j = rng.choice(len(left), size=2, replace=False)
            op = "+-*/"[rng.integers(4)]
            value = apply_step(left[i], op, left[j], max_value=9999)
            if value is None:
                continue
            if draw < 0.3:
                value += 1  # a wrong result
            step = f"{left[i]}{op}{left[j]}={value}"
        step = step.split(",")[0]
        items.append(step + ",")
        stack.append(StepTask.numbers_after(left, [step]))
    return "".join(items).removesuffix(",")


def test_backtrack_verdicts_agree_with_a_reference_on_random_traces():
    """Random traces typed into the game, with early verdicts and without: the verdict on what
    was typed is the reference's, and no trace the reference accepts is cut short."""
    task_game = games.make("countdown@k=3,backtrack=3")
    rng = np.random.default_rng(7)
    accepted = 0
    for prompt in task_game.task.sample_prompts(300, rng):
        numbers, target = StepTask.parse_prompt(prompt)
        trace = random_trace(numbers, target, 3, rng)
        expected = reference_trace(trace, numbers, target, undos=3)
        accepted += expected
        for game in (task_game, task_game.without_early_verdicts()):
            final = type_answer(game, prompt, trace + END)
            typed = game.answer(final).removesuffix(END)
            assert game.is_terminal(final)[0], trace
            verdict = game.returns(final)[0, 0] > 0
            assert verdict == reference_trace(typed, numbers, target, undos=3), (trace, typed)
            assert verdict == expected, (trace, typed)
    assert 30 < accepted < 270  # both verdicts well represented
