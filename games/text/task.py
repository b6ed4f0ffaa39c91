"""Text tasks, and the game that turns any of them into a one-player game for the engine.

A *task* knows a family of problems: how to draw one (``sample_prompts``), which characters
may come next in an answer (``allowed_next``: the grammar, and in guided modes the rules),
text the game writes by itself after a move (``autocomplete``), and the verdict on a finished
answer (``verify``). It works on plain strings; a new task is one Python file with one
``TextTask`` subclass, loaded like a game (``train.py game=path/to/my_task.py:MyTask``). A task
may also offer its per-move rules compiled (``compiled_rules``; free-mode step tasks do), so
that the game plays a whole batch's move in one call.

``TextGame`` does the rest: tokens, states, legal masks, observations and rewards. A state is
``BOS prompt SEP answer``; each move appends one character (``END`` finishes the answer) and
then whatever the task autocompletes. When the answer ends (``END``, no allowed continuation,
or the length limit) the verifier runs once and its verdict is the return: +1 accepted,
-1 rejected. The verdict is stored in the state, so ``returns`` never re-verifies and
``verifier_calls`` counts each verification exactly once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from games.base import TERMINAL, Game, GameSpec
from games.text.verifier import Verdict

PAD, BOS, SEP, EOS = 0, 1, 2, 3
"""Special token ids: padding (never in a state), begin, prompt/answer separator, end."""
SPECIALS = 4
END = "$"
"""The character a task's grammar uses for "the answer ends here" (token ``EOS``)."""
ALPHABET = "0123456789+-*/=,|()"
"""The characters every built-in task writes with: digits, operators and punctuation."""

OVER, GOES_ON, REJECTED, FINISHED, DECLINED = 0, 1, 2, 3, 4
"""What compiled rules (``TextTask.compiled_rules``) did with each row of a move: the game was
already over (left as it was); the character is written and the legal mask set; written and
rejected by an early verdict (verdict -1, mask all True); written where the answer had room,
and the answer is finished (the game verifies it); not touched (the game plays it with the
Python rules)."""


class CompiledRules(Protocol):
    """A task's per-move rules compiled for one game (``TextTask.compiled_rules``)."""

    def apply_actions(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """Plays ``actions`` (int64 ``[B]``) into the game's ``states`` in place, the whole batch
        in one call; int8 ``[B]``: what happened to each row (``OVER`` ... ``DECLINED``)."""
        ...


class TextTask(ABC):
    """A family of problems whose answers are checked by a verifier. Subclasses set ``name``,
    ``version``, ``max_prompt_length`` and ``max_answer_length`` (characters, in ``alphabet``),
    and may take keyword options (``countdown@k=3,mode=guided`` calls ``Countdown(k=3,
    mode="guided")``)."""

    name: str
    version: int = 1
    alphabet: str = ALPHABET
    max_prompt_length: int
    max_answer_length: int

    @abstractmethod
    def sample_prompts(self, n: int, rng: np.random.Generator) -> list[str]:
        """``n`` training problems as prompt strings (a prompt must say everything the
        verifier needs)."""

    @abstractmethod
    def allowed_next(self, prompt: str, answer: str) -> str:
        """The characters that may follow ``answer`` (``END`` among them when it may end
        here); an empty string ends the answer as it is."""

    @abstractmethod
    def verify(self, prompt: str, answer: str) -> Verdict:
        """The verdict on a finished ``answer`` (without ``END``). Bounded work, never eval."""

    def early_verdict(self, prompt: str, answer: str) -> Verdict | None:
        """A rejection before the answer ends, when what is written already breaks a rule the
        verifier checks (step tasks check each step as soon as it is written); None to go on.
        Only consulted by games made with ``early_verdicts=True``."""
        return None

    def autocomplete(self, prompt: str, answer: str) -> str:
        """Text the game writes itself after ``answer`` (guided modes fill in results); it may
        end with ``END``."""
        return ""

    def validation_prompts(self, n: int, rng: np.random.Generator) -> list[str]:
        """``n`` training problems for the gate to score networks on; by default drawn like
        any (``sample_prompts``). A task with a curriculum gives only its hardest problems,
        the ones its test splits ask."""
        return self.sample_prompts(n, rng)

    def compiled_rules(self, chars: str) -> CompiledRules | None:
        """The rules of a move (``autocomplete``, ``allowed_next``, ``early_verdict``) compiled
        for a game with early verdicts whose token ``EOS + i`` is ``chars[i]``, so that the game
        plays a batch's move in one call instead of game by game; None (the default) where the
        task has none. Finished answers are still verified in Python."""
        return None

    def for_evaluation(self) -> TextTask:
        """The task as evaluations play it: the same problems and verdicts on finished answers,
        without the options that only shape self-play's search (default: the task itself)."""
        return self

    def hindsight(
        self, prompt: str, answer: str, rng: np.random.Generator
    ) -> tuple[str, str] | None:
        """Hindsight relabelling: for a rejected ``answer`` (as written, ``END`` included if
        it was), another training problem and an answer to it that begins as much like this
        one as the rules allow (``END`` included); None when there is none (the default)."""
        return None

    def test_prompts(self, split: str, limit: int | None = None) -> list[str]:
        """Held-out problems for evaluation by split name (``splits`` lists them), the first
        ``limit`` of them (all when None)."""
        raise ValueError(f"{self.name} has no test splits")

    splits: tuple[str, ...] = ()
    """Names of the test splits ``test_prompts`` knows, e.g. ("seen", "heldout")."""

    def describe(self) -> str:
        """The task and its options in a few words, for logs and reports."""
        return self.name


class TextGame(Game):
    """A text task as a batched one-player game over character tokens.

    State fields: ``tokens`` (uint8 ``[T]``: BOS, prompt, SEP, answer, then PAD), ``length``
    (tokens used), ``answer_start`` (index of the answer's first token), ``legal`` (bool
    ``[A]``: the legal mask, computed when the state is made) and ``verdict`` (0 while
    writing, +1 accepted, -1 rejected). Actions are token ids; observations are the token ids
    as float32 ``[T]`` for a sequence model (``spec.vocabulary_size``).

    ``early_verdicts``: the answer is rejected as soon as the task's ``early_verdict`` finds a
    broken rule, so a mistake loses where it is made and the search sees it there. The
    verifier-hidden evaluation turns it off, so that its search learns nothing from the
    verifier, not even that an answer ended early.

    ``compiled``: play moves with the task's compiled rules where it has them (with early
    verdicts only; ``rules`` is None where the Python rules run); False keeps the Python rules,
    the reference the compiled ones are tested against.
    """

    def __init__(self, task: TextTask, *, early_verdicts: bool = True, compiled: bool = True):
        if not isinstance(task, TextTask):
            raise TypeError(f"TextGame needs a TextTask, got {type(task).__name__}")
        self.task = task
        self.early_verdicts = early_verdicts
        chars = END + "".join(dict.fromkeys(task.alphabet))
        if any(c.isspace() for c in chars) or len(chars) != len(task.alphabet) + 1:
            raise ValueError(
                f"{task.name}: alphabet must be distinct non-space characters without "
                f"{END!r}, got {task.alphabet!r}"
            )
        self.chars = chars  # token id SPECIALS - 1 + i <-> chars[i]; chars[0] = END <-> EOS
        self._ids = {c: EOS + i for i, c in enumerate(chars)}
        # str.translate tables: token ids as latin-1 code points <-> characters (specials
        # other than EOS dropped), so that text and tokens convert in C, not per character.
        self._to_chars = {i: None for i in range(EOS)} | {EOS + i: c for i, c in enumerate(chars)}
        self._to_ids = {ord(c): EOS + i for i, c in enumerate(chars)}
        self._masks: dict[str, np.ndarray] = {}  # allowed characters -> legal mask
        self.rules = task.compiled_rules(chars) if compiled and early_verdicts else None
        vocabulary = EOS + len(chars)
        length = 2 + task.max_prompt_length + task.max_answer_length
        self.spec = GameSpec(
            name=task.name,
            version=task.version,
            num_players=1,
            num_actions=vocabulary,
            observation_shape=(length,),
            max_game_length=task.max_answer_length,
            vocabulary_size=vocabulary,
            observation_dtype="uint8",  # token ids, as the states hold them
        )
        self.state_dtype = np.dtype(
            [
                ("tokens", np.uint8, (length,)),
                ("length", np.int16),
                ("answer_start", np.int16),
                ("legal", np.bool_, (vocabulary,)),
                ("verdict", np.int8),
            ]
        )
        self.verifier_calls = 0  # verifications run by this instance, for reports

    # -- text <-> tokens -------------------------------------------------------------------
    def encode(self, text: str) -> np.ndarray:
        """Token ids (uint8) of ``text``; raises ValueError naming a character outside the
        alphabet."""
        unknown = set(text).difference(self._ids)
        if unknown:
            raise ValueError(
                f"{self.task.name}: character {min(unknown)!r} is not in the alphabet "
                f"{self.task.alphabet!r}"
            )
        return np.frombuffer(text.translate(self._to_ids).encode("latin-1"), np.uint8).copy()

    def decode(self, tokens: Sequence[int]) -> str:
        """The characters of token ids (specials other than EOS are skipped)."""
        return bytes(np.asarray(tokens, np.uint8)).decode("latin-1").translate(self._to_chars)

    def prompt(self, states: np.ndarray, index: int = 0) -> str:
        record = states[index]
        return self.decode(record["tokens"][1 : record["answer_start"] - 1])

    def answer(self, states: np.ndarray, index: int = 0) -> str:
        """The answer written so far in game ``index`` (``END`` included once written)."""
        record = states[index]
        return self.decode(record["tokens"][record["answer_start"] : record["length"]])

    def _texts(self, record: np.void) -> tuple[str, str]:
        """Prompt and answer of one state record, decoded at once."""
        start, length = int(record["answer_start"]), int(record["length"])
        text = self.decode(record["tokens"][1:length])  # SEP is dropped
        return text[: start - 2], text[start - 2 :]

    # -- states ----------------------------------------------------------------------------
    def new_initial_states(
        self, batch_size: int, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        """``batch_size`` training problems drawn with ``rng`` (seeded 0 when None)."""
        rng = np.random.default_rng(0) if rng is None else rng
        return self.states_from_prompts(self.task.sample_prompts(batch_size, rng))

    def validation_states(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        return self.states_from_prompts(self.task.validation_prompts(batch_size, rng))

    def states_from_prompts(self, prompts: Sequence[str]) -> np.ndarray:
        """Initial states for the given problems (test sets, users' own problems)."""
        states = np.zeros(len(prompts), dtype=self.state_dtype)
        for i, prompt in enumerate(prompts):
            if len(prompt) > self.task.max_prompt_length:
                raise ValueError(
                    f"{self.task.name}: prompt {prompt!r} is longer than "
                    f"max_prompt_length={self.task.max_prompt_length}"
                )
            tokens = np.concatenate([[BOS], self.encode(prompt), [SEP]])
            states[i]["tokens"][: len(tokens)] = tokens
            states[i]["length"] = states[i]["answer_start"] = len(tokens)
            self._settle(states, i, prompt, "")
        return states

    def _settle(self, states: np.ndarray, i: int, prompt: str, answer: str) -> None:
        """Autocompletes state ``i``, then either ends it with the verifier's verdict or
        stores its legal mask."""
        answer = self._write(states, i, answer, self.task.autocomplete(prompt, answer))
        full = len(answer) >= self.task.max_answer_length
        allowed = "" if answer.endswith(END) or full else self.task.allowed_next(prompt, answer)
        verdict = self._judge(prompt, answer, finished=not allowed)
        if verdict is not None:
            self.verifier_calls += 1
            states[i]["verdict"] = 1 if verdict.accepted else -1
            states[i]["legal"] = True
            return
        legal = self._masks.get(allowed)
        if legal is None:
            legal = self._masks[allowed] = np.zeros(self.spec.num_actions, dtype=bool)
            legal[self.encode(allowed)] = True
        states[i]["legal"] = legal

    def _write(self, states: np.ndarray, i: int, answer: str, text: str) -> str:
        room = self.task.max_answer_length - len(answer)
        text = text[:room]
        if text:
            start = int(states[i]["length"])
            states[i]["tokens"][start : start + len(text)] = self.encode(text)
            states[i]["length"] = start + len(text)
        return answer + text

    # -- rules -----------------------------------------------------------------------------
    def current_player(self, states: np.ndarray) -> np.ndarray:
        states = self._check_states(states)
        return np.where(states["verdict"] == 0, 0, TERMINAL).astype(np.int8)

    def legal_actions_mask(self, states: np.ndarray) -> np.ndarray:
        return self._check_states(states)["legal"].copy()

    def _apply_actions(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        new = states.copy()
        if self.rules is None:
            rows = np.flatnonzero(new["verdict"] == 0)
        else:  # one compiled call; the verifier judges finished answers, the Python rules
            # play the rows the compiled ones decline (illegal actions, hand-made states)
            status = self.rules.apply_actions(new, actions)
            self.verifier_calls += int(np.count_nonzero(status == REJECTED))
            for i in np.flatnonzero(status == FINISHED):
                self._settle(new, i, *self._texts(new[i]))
            rows = np.flatnonzero(status == DECLINED)
        for i in rows:
            prompt, answer = self._texts(new[i])
            answer = self._write(new, i, answer, self.chars[int(actions[i]) - EOS])
            self._settle(new, i, prompt, answer)
        return new

    def is_terminal(self, states: np.ndarray) -> np.ndarray:
        return self._check_states(states)["verdict"] != 0

    def returns(self, states: np.ndarray) -> np.ndarray:
        return self._check_states(states)["verdict"].astype(np.float32)[:, None]

    def observation_tensor(self, states: np.ndarray) -> np.ndarray:
        return self._check_states(states)["tokens"].astype(np.float32)

    def hindsight(
        self, state: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The task's relabelled problem and answer (``TextTask.hindsight``) played out: the
        states from the new problem's start to its accepted answer, and the actions between."""
        prompt, answer = self._texts(self._check_states(state)[0])
        found = self.task.hindsight(prompt, answer, rng)
        if found is None:
            return None
        prompt, answer = found
        states, actions = [self.states_from_prompts([prompt])], []
        while not states[-1]["verdict"][0]:
            written = self._texts(states[-1][0])[1]
            if len(written) >= len(answer) or not answer.startswith(written):
                raise ValueError(
                    f"{self.task.name}.hindsight: the game wrote {written!r} for {prompt!r}, "
                    f"which does not lead to the answer {answer!r}"
                )
            actions.append(self._ids[answer[len(written)]])
            states.append(self.apply_actions(states[-1], np.array(actions[-1:])))
        return np.concatenate(states), np.array(actions, np.int64)

    # -- text ------------------------------------------------------------------------------
    def action_to_string(self, action: int) -> str:
        action = int(action)
        if action < EOS or action >= self.spec.num_actions:
            return ("<pad>", "<bos>", "<sep>")[action] if 0 <= action < EOS else f"<{action}>"
        return self.chars[action - EOS]

    def render(self, states: np.ndarray, index: int = 0) -> str:
        states = self._check_states(states)
        status = {0: "writing", 1: "accepted", -1: "rejected"}[int(states["verdict"][index])]
        return f"{self.prompt(states, index)} -> {self.answer(states, index)}  ({status})"

    def explain(self, states: np.ndarray, index: int = 0) -> Verdict:
        """The verdict on the finished answer of game ``index``, with the verifier's reason
        (verified again: for reports, not for play)."""
        prompt, answer = self.prompt(states, index), self.answer(states, index)
        verdict = self._judge(prompt, answer, finished=answer.endswith(END))
        return self._judge(prompt, answer, finished=True) if verdict is None else verdict

    def _judge(self, prompt: str, answer: str, finished: bool) -> Verdict | None:
        """The verifier's verdict on a ``finished`` answer; before that, the task's early
        verdict (when this game takes them), None while the answer may go on."""
        if finished:
            return self.task.verify(prompt, answer.removesuffix(END))
        return self.task.early_verdict(prompt, answer) if self.early_verdicts else None

    def for_evaluation(self) -> TextGame:
        """This game as evaluations play it (``TextTask.for_evaluation``): the same spec and
        tokens; itself when the task has nothing to drop."""
        task = self.task.for_evaluation()
        if task is self.task:
            return self
        game = TextGame(task, early_verdicts=self.early_verdicts)
        game.source = getattr(self, "source", None)
        return game

    def without_early_verdicts(self) -> TextGame:
        """The same game (same spec and tokens) where only finished answers are verified."""
        game = TextGame(self.task, early_verdicts=False)
        game.source = getattr(self, "source", None)
        return game

    def __repr__(self) -> str:
        return f"TextGame({self.task.describe()} v{self.spec.version})"
