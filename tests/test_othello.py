"""Othello: a lockstep cross-check against OpenSpiel's "othello" on random games, and small
positions whose right answers are worked out by hand in the comments."""

from __future__ import annotations

import numpy as np
import pytest

from games.base import TERMINAL, IllegalActionError
from games.othello import PASS, Othello

pyspiel = pytest.importorskip("pyspiel")

GAME = Othello()
E, B, W = 0, 1, 2  # board values: empty, black (player 0), white (player 1)


def square(name: str) -> int:
    """Action of a square written as in Othello notation: column letter, row from the top."""
    return (int(name[1]) - 1) * 8 + "abcdefgh".index(name[0])


def board_with(black: list[str] = (), white: list[str] = ()) -> np.ndarray:
    board = np.zeros((8, 8), dtype=np.int8)
    for value, names in ((B, black), (W, white)):
        for name in names:
            board.flat[square(name)] = value
    return board


def position(board: np.ndarray, player: int) -> np.ndarray:
    return GAME.states_from_boards(board[None], np.array([player]))


def legal_names(states: np.ndarray) -> set[str]:
    return {GAME.action_to_string(a) for a in np.flatnonzero(GAME.legal_actions_mask(states)[0])}


# -- cross-check against OpenSpiel ---------------------------------------------------------


def spiel_board(state) -> np.ndarray:
    """Our board [8, 8] read from OpenSpiel's state string, whose rows are '1 x o - ... 1'
    (x black, o white, - empty; row 1 at the top, column a at the left)."""
    rows = []
    for line in str(state).splitlines():
        tokens = line.split()
        if len(tokens) == 10 and tokens[0] == tokens[-1] and tokens[0].isdigit():
            rows.append([{"-": E, "x": B, "o": W}[t] for t in tokens[1:9]])
    assert len(rows) == 8, str(state)
    return np.array(rows, dtype=np.int8)


def test_matches_openspiel_on_random_games():
    """Seeded random games played in both implementations in lockstep, 64 at a time: every
    position has the same board, player, terminal flag, legal mask and observation, and
    every game the same returns."""
    ref_game = pyspiel.load_game("othello")
    assert ref_game.num_distinct_actions() == GAME.spec.num_actions
    rng = np.random.default_rng(20240611)
    positions = passes = early_ends = 0
    while positions < 30_000:
        refs = [ref_game.new_initial_state() for _ in range(64)]
        states = GAME.new_initial_states(64)
        while True:
            live = [not r.is_terminal() for r in refs]
            np.testing.assert_array_equal(GAME.boards(states), [spiel_board(r) for r in refs])
            np.testing.assert_array_equal(GAME.is_terminal(states), [not x for x in live])
            np.testing.assert_array_equal(
                GAME.current_player(states),
                [r.current_player() if x else TERMINAL for r, x in zip(refs, live, strict=True)],
            )
            mask = GAME.legal_actions_mask(states)
            obs = GAME.observation_tensor(states)
            for i, ref in enumerate(refs):
                if live[i]:
                    np.testing.assert_array_equal(mask[i], ref.legal_actions_mask())
                    # OpenSpiel's planes for the mover: empty, mover's discs, opponent's discs.
                    theirs = np.array(ref.observation_tensor(ref.current_player()))
                    np.testing.assert_array_equal(obs[i], theirs.reshape(3, 8, 8)[1:])
                else:
                    assert mask[i].all()
                    np.testing.assert_array_equal(GAME.returns(states)[i], ref.returns())
            positions += sum(live)
            if not any(live):
                break
            actions = np.zeros(64, dtype=np.int64)  # finished games ignore their action
            for i, ref in enumerate(refs):
                if live[i]:
                    actions[i] = rng.choice(ref.legal_actions())
                    passes += actions[i] == PASS
                    ref.apply_action(int(actions[i]))
            before = states.copy()
            after = GAME.apply_actions(states, actions)
            np.testing.assert_array_equal(states, before)
            states = after
        early_ends += int((GAME.boards(states) == E).any(axis=(1, 2)).sum())
        assert max(r.move_number() for r in refs) <= GAME.spec.max_game_length
    # The games reached the rare cases: forced passes, and games over before the board filled.
    assert passes > 0 and early_ends > 0


def test_action_names_match_openspiel():
    ref = pyspiel.load_game("othello").new_initial_state()
    for action in range(GAME.spec.num_actions):
        assert GAME.action_to_string(action) == ref.action_to_string(0, action)


# -- unit tests ------------------------------------------------------------------------------


def test_initial_position():
    states = GAME.new_initial_states(3)
    # Standard start: white on the d4-e5 diagonal, black on e4 and d5; black moves first.
    expected = board_with(black=["e4", "d5"], white=["d4", "e5"])
    np.testing.assert_array_equal(GAME.boards(states), np.stack([expected] * 3))
    np.testing.assert_array_equal(GAME.current_player(states), [0, 0, 0])
    assert not GAME.is_terminal(states).any()
    np.testing.assert_array_equal(GAME.returns(states), np.zeros((3, 2)))
    # Black's four openings, each outflanking one white disc towards a black one.
    assert legal_names(states) == {"d3", "c4", "f5", "e6"}
    obs = GAME.observation_tensor(states)
    np.testing.assert_array_equal(obs[0, 0], expected == B)
    np.testing.assert_array_equal(obs[0, 1], expected == W)
    assert GAME.spec.name == "othello" and GAME.spec.num_actions == 65


def test_first_move_flips_and_hands_over():
    states = GAME.new_initial_states(1)
    after = GAME.apply_actions(states, np.array([square("d3")]))
    # d3 outflanks d4 (white) with d5 (black) below it.
    np.testing.assert_array_equal(
        GAME.boards(after)[0], board_with(black=["d3", "d4", "d5", "e4"], white=["e5"])
    )
    np.testing.assert_array_equal(GAME.current_player(after), [1])
    obs = GAME.observation_tensor(after)  # now from white's view
    np.testing.assert_array_equal(obs[0, 0], GAME.boards(after)[0] == W)
    np.testing.assert_array_equal(obs[0, 1], GAME.boards(after)[0] == B)


def test_capture_in_several_directions_at_once():
    # Black plays d4. Captured: north d3 (closed by d2), east e4 (closed by f4), south d5 d6
    # (closed by d7), south-east e5 (closed by f6). Not captured: west c4 (b4 empty),
    # north-west c3 b2 (a1 empty: a run must end in a black disc, not the edge), and the
    # south-west c5, which is not between d4 and any black disc.
    board = board_with(
        black=["d2", "f4", "d7", "f6"],
        white=["d3", "e4", "d5", "d6", "e5", "c4", "c3", "b2", "c5"],
    )
    states = position(board, 0)
    assert "d4" in legal_names(states)
    after = GAME.apply_actions(states, np.array([square("d4")]))
    expected = board_with(
        black=["d2", "f4", "d7", "f6", "d4", "d3", "e4", "d5", "d6", "e5"],
        white=["c4", "c3", "b2", "c5"],
    )
    np.testing.assert_array_equal(GAME.boards(after)[0], expected)
    np.testing.assert_array_equal(GAME.boards(states)[0], board)  # the input is unchanged


def test_no_capture_wraps_round_the_edge():
    # Squares are row-major, so one step east of h4 is a5 in the bit order, and one step
    # south-east of h4 is a6. A kernel that forgets the board's edge would let black play g4
    # (h4 "closed" by a5) and g3 (h4 "closed" by a6). Black's only move is c1 (b1 closed by
    # a1); the same holds for white with the colours swapped.
    board = board_with(black=["a1", "a4", "a5", "a6"], white=["b1", "h4"])
    assert legal_names(position(board, 0)) == {"c1"}
    swapped = np.where(board == B, W, np.where(board == W, B, E))
    assert legal_names(position(swapped, 1)) == {"c1"}


def test_forced_pass():
    # Row 1 reads: a1 black, b1 black, c1 white. White to move: every black disc is either at
    # the edge or next to c1 with nothing to outflank, so white must pass. Black then has d1
    # (outflanking c1 with b1).
    board = board_with(black=["a1", "b1"], white=["c1"])
    states = position(board, 1)
    assert not GAME.is_terminal(states).any()
    mask = GAME.legal_actions_mask(states)[0]
    assert mask[PASS] and mask.sum() == 1
    with pytest.raises(IllegalActionError):
        GAME.apply_actions(states, np.array([square("d1")]))
    after = GAME.apply_actions(states, np.array([PASS]))
    np.testing.assert_array_equal(GAME.boards(after), GAME.boards(states))
    np.testing.assert_array_equal(GAME.current_player(after), [0])
    assert legal_names(after) == {"d1"}  # pass is not legal when a move exists


def test_game_ends_when_both_are_blocked_before_the_board_is_full():
    # Black plays d1, turning c1: black then has a1-d1 and white h8 with 59 empty squares,
    # yet nobody can outflank anything, so the game ends at once (no passes), black 4 to 1.
    board = board_with(black=["a1", "b1"], white=["c1", "h8"])
    states = position(board, 0)
    assert legal_names(states) == {"d1"}
    after = GAME.apply_actions(states, np.array([square("d1")]))
    assert GAME.is_terminal(after).all()
    np.testing.assert_array_equal(GAME.current_player(after), [TERMINAL])
    np.testing.assert_array_equal(GAME.returns(after), [[1.0, -1.0]])
    assert GAME.legal_actions_mask(after).all()
    # Terminal states ignore further actions.
    again = GAME.apply_actions(after, np.array([5]))
    np.testing.assert_array_equal(again, after)


def test_returns_white_win_and_draw():
    # Blocked positions: the disc count alone decides, empty squares count for nobody.
    white_wins = board_with(black=["a1"], white=["h8", "h7"])
    draw = board_with(black=["a1", "a2"], white=["h8", "h7"])
    states = GAME.states_from_boards(np.stack([white_wins, draw]), np.array([0, 1]))
    assert GAME.is_terminal(states).all()
    np.testing.assert_array_equal(GAME.returns(states), [[-1.0, 1.0], [0.0, 0.0]])
    assert "o (white) won" in GAME.render(states, 0)
    assert "draw" in GAME.render(states, 1)


def test_illegal_action_raises_and_leaves_input_unchanged():
    states = GAME.new_initial_states(2)
    before = states.copy()
    for bad in (square("a1"), PASS, square("d4"), 65, -1):
        actions = np.array([square("d3"), bad])
        with pytest.raises(IllegalActionError) as info:
            GAME.apply_actions(states, actions)
        assert info.value.index == 1 and info.value.action == bad
        np.testing.assert_array_equal(states, before)


def test_apply_does_not_modify_input():
    states = GAME.new_initial_states(4)
    before = states.copy()
    after = GAME.apply_actions(states, np.array([square(n) for n in ("d3", "c4", "f5", "e6")]))
    np.testing.assert_array_equal(states, before)
    assert not np.shares_memory(after, states)
    # The four openings are one position up to symmetry: each leaves 4 black, 1 white.
    np.testing.assert_array_equal((GAME.boards(after) == B).sum(axis=(1, 2)), [4, 4, 4, 4])


def test_string_round_trip():
    for action in range(GAME.spec.num_actions):
        assert GAME.string_to_action(GAME.action_to_string(action)) == action
    assert GAME.action_to_string(0) == "a1"  # top-left
    assert GAME.action_to_string(7) == "h1"  # top-right
    assert GAME.action_to_string(56) == "a8"  # bottom-left
    assert GAME.string_to_action(" E6 ") == 5 * 8 + 4  # row 6 from the top, column e
    assert GAME.string_to_action("PASS") == PASS
    with pytest.raises(ValueError):
        GAME.string_to_action("i9")


def test_render():
    text = GAME.render(GAME.new_initial_states(1))
    lines = text.splitlines()
    assert lines[0].split() == list("abcdefgh")
    assert lines[4].split() == ["4", ".", ".", ".", "o", "x", ".", ".", "."]
    assert "x (black) to move" in lines[-1]


def _transforms(board: np.ndarray) -> list[np.ndarray]:
    """The 8 images of an [..., 8, 8] array under rotations and reflections."""
    return [np.rot90(b, k, axes=(-2, -1)) for b in (board, board[..., ::-1]) for k in range(4)]


def test_symmetries_agree_with_transforming_the_board():
    # A lopsided position (no symmetry of its own) from a fixed line of play.
    states = GAME.new_initial_states(1)
    for name in ("d3", "c3", "c4", "e3", "f2"):
        states = GAME.apply_actions(states, np.array([square(name)]))
    board = GAME.boards(states)[0]
    player = int(GAME.current_player(states)[0])
    images = _transforms(board)
    assert len({b.tobytes() for b in images}) == 8
    obs = GAME.observation_tensor(states)
    mask = GAME.legal_actions_mask(states).astype(np.float32)
    pairs = GAME.symmetries(obs, mask)
    assert len(pairs) == 8
    np.testing.assert_array_equal(pairs[0][0], obs)
    np.testing.assert_array_equal(pairs[0][1], mask)
    used = set()
    for sym_obs, sym_policy in pairs:
        # Which transform of the board does the observation show? Exactly one.
        matches = [
            k
            for k, image in enumerate(images)
            if np.array_equal(sym_obs[0, 0], image == player + 1)
            and np.array_equal(sym_obs[0, 1], image == 2 - player)
        ]
        assert len(matches) == 1
        used.add(matches[0])
        # The rules are symmetric: the transformed board's own legal mask is the policy.
        image_states = position(images[matches[0]], player)
        np.testing.assert_array_equal(sym_policy, GAME.legal_actions_mask(image_states))
    assert used == set(range(8))


def test_symmetries_keep_pass_in_place():
    board = board_with(black=["a1", "b1"], white=["c1"])  # white must pass
    states = position(board, 1)
    mask = GAME.legal_actions_mask(states).astype(np.float32)
    for _, policy in GAME.symmetries(GAME.observation_tensor(states), mask):
        assert policy[0, PASS] == 1.0 and policy[0, :PASS].sum() == 0.0
