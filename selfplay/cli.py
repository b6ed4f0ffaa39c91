"""The ``selfplay`` console script: one subcommand per job.

``selfplay games`` lists the games, ``selfplay check-game SPEC`` runs the conformance suite on
any game, ``selfplay solve connect4 MOVES`` prints exact Connect Four scores, ``selfplay arena
A B`` plays two players and ``selfplay ladder P1 P2 ...`` rates several.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import track
from rich.table import Table

import games
from games.conformance import check_game
from selfplay.text_eval import METHODS as TEXT_METHODS


def _games(args: argparse.Namespace, console: Console) -> int:
    table = Table(title="games (use the name, or path/to/file.py:Class, or module:Class)")
    for column in ("name", "version", "players", "actions", "observation", "max length", "loads"):
        table.add_column(column)
    for name, target in games.available().items():
        try:
            spec = games.make(name).spec
        except games.GameLoadError as e:
            table.add_row(name, "", "", "", "", "", f"[red]{e}[/red]")
            continue
        table.add_row(
            name,
            str(spec.version),
            str(spec.num_players),
            str(spec.num_actions),
            "x".join(map(str, spec.observation_shape)),
            str(spec.max_game_length),
            target,
        )
    console.print(table)
    return 0


def _check_game(args: argparse.Namespace, console: Console) -> int:
    game = games.make(args.game)
    console.print(f"checking {game!r} on {args.num_games} random games (seed {args.seed})")
    results = check_game(game, num_games=args.num_games, seed=args.seed)
    for r in results:
        mark = "[green]ok  [/green]" if r.passed else "[red]FAIL[/red]"
        console.print(f"{mark} {r.invariant}", highlight=False)
        if not r.passed:
            console.print(r.detail, markup=False, highlight=False)
    failed = sum(not r.passed for r in results)
    console.print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


def _solve(args: argparse.Namespace, console: Console) -> int:
    if games.make(args.game).spec.name != "connect4":
        raise games.GameLoadError(f"no solver for {args.game!r}; solvers exist for: connect4")
    from selfplay.solver import Connect4Solver, parse_moves  # loads the compiled core

    moves = "".join(str(c + 1) for c in parse_moves(args.moves))
    solver = Connect4Solver()
    with console.status("solving…"):
        score = solver.score(moves)
        values = solver.analyze(moves)
    if args.json:
        print(
            json.dumps(
                {
                    "moves": moves,
                    "score": score,
                    "move_scores": {str(c + 1): v for c, v in enumerate(values)},
                }
            )
        )
        return 0
    game = games.make("connect4")
    console.print(game.render(game.states_from_moves(moves)), highlight=False)
    console.print(f"score {score:+d}: {_explain(score)}")
    table = Table("column", *[str(c + 1) for c in range(len(values))], title="score of each move")
    table.add_row("score", *["full" if v is None else f"{v:+d}" for v in values])
    console.print(table)
    return 0


def _arena(args: argparse.Namespace, console: Console) -> int:
    from selfplay.arena import play_match
    from selfplay.players import make_player

    game = games.make(args.game)
    a, b = make_player(args.a, game), make_player(args.b, game)
    rng = np.random.default_rng(args.seed)
    with console.status(f"{a.name} vs {b.name}: {args.games} games of {game.spec.name}"):
        result = play_match(game, a, b, args.games, rng, opening_plies=args.openings)
    low, high = result.score_interval()
    elo, elo_low, elo_high = result.elo_interval()
    table = Table(title=f"{a.name} vs {b.name}, {game.spec.name}, 95% intervals")
    for column in ("games", "wins", "draws", "losses", "as first", "as second", "score", "Elo"):
        table.add_column(column, justify="right")
    table.add_row(
        str(result.games), str(result.wins), str(result.draws), str(result.losses),
        str(result.as_first), str(result.as_second),
        f"{result.score:.3f} [{low:.3f}, {high:.3f}]",
        f"{elo:+.0f} [{elo_low:+.0f}, {elo_high:+.0f}]",
    )  # fmt: skip
    console.print(table)
    return 0


def _ladder(args: argparse.Namespace, console: Console) -> int:
    from selfplay.arena import fit_elo, play_match
    from selfplay.players import make_player

    game = games.make(args.game)
    players = [make_player(spec, game) for spec in args.players]
    names = [p.name for p in players]
    if len(set(names)) != len(names):
        raise ValueError(f"players must differ, got {names}")
    rng = np.random.default_rng(args.seed)
    results = []
    pairs = [(i, j) for i in range(len(players)) for j in range(i + 1, len(players))]
    for i, j in track(pairs, description="round robin", console=console):
        match = play_match(game, players[i], players[j], args.games, rng,
                           opening_plies=args.openings)  # fmt: skip
        results.append((names[i], names[j], match.wins, match.draws, match.losses))
    anchor = "random" if "random" in names else names[0]
    ratings = fit_elo(results, anchor=anchor)
    table = Table(title=f"{game.spec.name} ladder: Bradley-Terry Elo, {anchor} = 0")
    table.add_column("player")
    table.add_column("Elo", justify="right")
    for name in sorted(ratings, key=ratings.get, reverse=True):
        table.add_row(str(name), f"{ratings[name]:+.0f}")
    console.print(table)
    return 0


def _eval(args: argparse.Namespace, console: Console) -> int:
    from rich.progress import Progress

    from selfplay import evaluation
    from selfplay.players import make_player

    game_spec = args.game or _checkpoint_game(args.player, required=False)
    if game_spec and (text_game := games.make(game_spec)).spec.vocabulary_size:
        return _eval_text(args, text_game, console)
    if not args.pons:
        raise ValueError("connect4 evaluation needs --pons DIR, the folder of Pons' test sets")
    game = games.make("connect4")
    sets = evaluation.load_pons_sets(args.pons, limit=args.limit, names=args.sets)
    with Progress(console=console, transient=True) as progress:
        total = sum(len(s.moves) for s in sets)
        task = progress.add_task("exact move scores (cached after the first time)", total=total)
        scores = evaluation.move_scores(
            sets, args.cache, on_progress=lambda: progress.advance(task)
        )
    spec = args.player
    if Path(spec).is_file():  # a checkpoint: search with --simulations, or its raw policy
        spec += ":policy" if args.policy else f":{args.simulations}"
    player = make_player(spec, game)
    rows = evaluation.evaluate(player, sets, scores, np.random.default_rng(args.seed))
    table = Table(title=f"{player.name}: share of optimal moves on Pascal Pons' test sets")
    columns = ("set", "positions", "weak", "strong", "random weak", "random strong",
               "centre-first weak", "centre-first strong")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column == "set" else "right")
    for row in rows:
        table.add_row(*[f"{row[c]:.1%}" if isinstance(row[c], float) else str(row[c])
                        for c in columns])  # fmt: skip
    console.print(table)
    if args.json:
        print(json.dumps({"player": player.name, "rows": rows}))
    return 0


def _checkpoint_game(path: str, *, required: bool = True) -> str | None:
    """The game a checkpoint's run trained on; None when ``path`` is not a file and not
    ``required`` (otherwise the checkpoint's own error names the file)."""
    from selfplay.checkpoint import load_checkpoint
    from selfplay.config import from_dict

    if not required and not Path(path).is_file():
        return None
    return from_dict(load_checkpoint(path).get("config", {})).game


def _eval_text(args: argparse.Namespace, game, console: Console) -> int:
    from selfplay.players import NetworkPlayer
    from selfplay.text_eval import default_budget, evaluate_text

    if not Path(args.player).is_file():
        raise ValueError(f"text games are evaluated from a checkpoint; no file {args.player!r}")
    game = game.for_evaluation()  # e.g. without reject=dead_end, which would guide the search
    player = NetworkPlayer.from_checkpoint(args.player, game, simulations=args.simulations)
    splits = args.splits or list(game.task.splits)
    prompts = {split: game.task.test_prompts(split, limit=args.limit) for split in splits}
    table = Table(title=f"{game.task.describe()}: share of held-out problems solved")
    columns = ("split", "method", "problems", "solved", "verifier calls", "simulations", "seconds")
    for column in columns:
        table.add_column(column, justify="left" if column in ("split", "method") else "right")
    sims = player.search_config.simulations
    budget = default_budget(game, player.search_config) if args.budget is None else args.budget
    with console.status("evaluating") as status:
        scores = evaluate_text(
            game, player.evaluator, prompts, player.search_config,
            np.random.default_rng(args.seed), methods=args.methods,
            on_done=lambda s: status.update(f"done: {s.split} {s.method} {s.solved:.1%}"),
            decoder=player.decoder, budget=budget,
        )  # fmt: skip
    for s in scores:
        table.add_row(s.split, s.method, str(s.problems), f"{s.solved:.1%}",
                      f"{s.verifier_calls:.1f}", f"{s.simulations:.0f}",
                      f"{s.seconds:.1f}")  # fmt: skip
    console.print(table)
    console.print(
        f"search-hidden: one tree per problem, {budget} simulations, the answer the network "
        f"values most; search-verifier: one tree per problem, rounds of {sims} simulations "
        f"until an answer is accepted, {budget} at most; "
        "best-of-N: N = the mean verifier calls of search-verifier, sampled at temperature 1"
    )
    if args.json:
        rows = [vars(s) for s in scores]
        print(json.dumps({"game": game.source, "rules": game.task.describe(), "scores": rows}))
    return 0


def _answer(args: argparse.Namespace, console: Console) -> int:
    from selfplay.players import NetworkPlayer
    from selfplay.text_eval import decode, default_budget, solve_answers

    game = games.make(args.game or _checkpoint_game(args.checkpoint))
    if not game.spec.vocabulary_size:
        raise ValueError(f"{game.spec.name} is not a text game; `selfplay play` plays board games")
    game = game.for_evaluation()
    player = NetworkPlayer.from_checkpoint(args.checkpoint, game, simulations=args.simulations)
    states = game.states_from_prompts(args.prompts)
    rng = np.random.default_rng(args.seed)
    greedy = decode(game, player.decoder, states, rng)
    budget = default_budget(game, player.search_config) if args.budget is None else args.budget
    searched, calls, _ = solve_answers(
        game, player.evaluator, states, player.search_config, rng, budget=budget
    )
    table = Table(title=f"{game.task.describe()}: answers of {args.checkpoint}")
    for column in ("problem", "by", "answer", "verdict"):
        table.add_column(column)
    for i, prompt in enumerate(args.prompts):
        for by, final in (("network", greedy), (f"search ({calls[i]} verifier calls)", searched)):
            verdict = game.explain(final, i)
            verdict_text = "accepted" if verdict.accepted else f"rejected: {verdict.reason}"
            table.add_row(prompt, by, game.answer(final, i), verdict_text)
    console.print(table)
    return 0


def _play(args: argparse.Namespace, console: Console) -> int:
    from selfplay.play import PlaySession, run_terminal
    from selfplay.players import NetworkPlayer

    game = games.make(args.game or _checkpoint_game(args.checkpoint))
    engine = NetworkPlayer.from_checkpoint(args.checkpoint, game, simulations=args.simulations)
    human = 0 if args.color == "first" else 1
    session = PlaySession(game, engine, human=human, seed=args.seed)
    if not args.web:
        run_terminal(session)
        return 0
    from selfplay.web import WebGame, make_server

    web = WebGame(session)
    with web.lock:
        web.engine_replies()
    server = make_server(web, args.host, args.port)
    host, port = server.server_address[:2]
    console.print(f"playing {game.spec.name} at http://{host}:{port}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _explain(score: int) -> str:
    """Pons' scale in words: 22 - k where the winner wins with its k-th stone."""
    if score == 0:
        return "a draw with perfect play"
    side = "the side to move" if score > 0 else "the opponent"
    return f"{side} wins with its stone number {22 - abs(score)} under perfect play"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="selfplay", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("games", help="list the available games and their facts")
    p.set_defaults(run=_games)

    p = sub.add_parser("check-game", help="run the conformance suite on a game")
    p.add_argument("game", help="a game name, path/to/file.py:Class or module:Class")
    p.add_argument("--num-games", type=int, default=64, help="random games to play (default 64)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(run=_check_game)

    p = sub.add_parser("solve", help="exact score of a Connect Four position and of every move")
    p.add_argument("game", help="the game to solve (connect4)")
    p.add_argument(
        "moves",
        nargs="?",
        default="",
        help="the columns played so far, 1-based, e.g. 4453 (default: the start)",
    )
    p.add_argument("--json", action="store_true", help="print JSON for machines")
    p.set_defaults(run=_solve)

    players = "players: random, minimax:DEPTH, uct:SIMULATIONS, solver, CHECKPOINT[:SIMS|:policy]"
    p = sub.add_parser("arena", help="play two players against each other", description=players)
    p.add_argument("a", help="the first player")
    p.add_argument("b", help="the second player")
    _match_options(p)
    p.set_defaults(run=_arena)

    p = sub.add_parser("play", help="play against a checkpoint in the terminal")
    p.add_argument("checkpoint", help="a run's checkpoint.pt")
    p.add_argument("--color", choices=["first", "second"], default="first", help="your side")
    p.add_argument("--simulations", type=int, default=200, help="engine simulations per move")
    p.add_argument("--game", default=None, help="game spec (default: the checkpoint's game)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--web", action="store_true", help="serve a page to play in the browser")
    p.add_argument("--host", default="127.0.0.1", help="address the page is served on")
    p.add_argument("--port", type=int, default=8000, help="port of the page (default 8000)")
    p.set_defaults(run=_play)

    p = sub.add_parser("answer", help="a text game checkpoint's answers to your problems")
    p.add_argument("checkpoint", help="a run's checkpoint.pt")
    p.add_argument("prompts", nargs="+", help='problems as the game writes them, e.g. "3,7,25|46"')
    p.add_argument(
        "--simulations", type=int, default=64, help="search simulations per round (default 64)"
    )
    p.add_argument(
        "--budget", type=int, default=None,
        help="the search's simulations per problem at most (default: --simulations times the "
        "longest answer)",
    )  # fmt: skip
    p.add_argument("--game", default=None, help="game spec (default: the checkpoint's game)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(run=_answer)

    p = sub.add_parser(
        "eval",
        help="Connect Four: optimal-move rates on Pons' solved positions; text games: "
        "held-out solve rates by every method",
    )
    p.add_argument("player", help="a checkpoint (or for connect4 a player spec: solver, ...)")
    p.add_argument("--pons", help="connect4: folder of Pons' six test sets")
    p.add_argument("--game", default=None, help="game spec (default: the checkpoint's game)")
    p.add_argument("--limit", type=int, default=None, help="first N positions/problems of each set")
    p.add_argument("--splits", nargs="+", default=None, help="text games: test splits (all)")
    p.add_argument(
        "--methods", nargs="+", default=list(TEXT_METHODS), choices=TEXT_METHODS,
        help="text games: methods to run (all)",
    )  # fmt: skip
    p.add_argument("--sets", nargs="+", default=None, help="e.g. End-Easy Test_L2_R1 (all)")
    p.add_argument(
        "--simulations", type=int, default=100,
        help="search simulations per move (text games: per round of a tree's search)",
    )  # fmt: skip
    p.add_argument(
        "--budget", type=int, default=None,
        help="text games: the searches' simulations per problem (search-hidden runs them "
        "all, search-verifier stops at an accepted answer; default: --simulations times the "
        "longest answer)",
    )  # fmt: skip
    p.add_argument("--policy", action="store_true", help="play the raw policy, no search")
    p.add_argument(
        "--cache",
        default=str(Path.home() / ".cache/selfplay/pons-scores.json"),
        help="where the solver's move scores are kept (default ~/.cache/selfplay)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--json", action="store_true", help="also print the rows as JSON")
    p.set_defaults(run=_eval)

    p = sub.add_parser("ladder", help="round robin and Elo ratings", description=players)
    p.add_argument("players", nargs="+", help="two or more players")
    _match_options(p)
    p.set_defaults(run=_ladder)
    return parser


def _match_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--game", default="connect4", help="game spec (default connect4)")
    p.add_argument(
        "--games", type=int, default=40, help="games per pairing, even: both colours (default 40)"
    )
    p.add_argument(
        "--openings", type=int, default=2, help="random opening plies of each pair (default 2)"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console()
    try:
        return args.run(args, console)
    except (games.GameLoadError, ValueError, FileNotFoundError) as e:
        Console(stderr=True).print(f"[red]error:[/red] {e}", highlight=False)
        return 2


if __name__ == "__main__":
    sys.exit(main())
