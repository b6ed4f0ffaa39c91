"""Self-play training: ``python train.py [key=value ...]``.

python train.py                                  # Connect Four on this machine
python train.py game=tictactoe                   # another game (its preset applies)
python train.py mcts.simulations=200 learner.lr=2e-3
python train.py ray.address=auto                 # join a cluster made with `ray start`
python train.py --resume runs/connect4-20261127-101500
python train.py --smoke                          # a tiny end-to-end run, seconds long
python train.py --help                           # every setting, its default and meaning
"""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console

from selfplay.config import ConfigError, help_text, resolve, smoke
from selfplay.loop import train


def main(argv: list[str]) -> int:
    console = Console()
    if "-h" in argv or "--help" in argv:
        print(__doc__)
        print(help_text())
        return 0
    resume = None
    if "--resume" in argv:
        i = argv.index("--resume")
        if i + 1 >= len(argv):
            console.print("[red]error:[/red] --resume needs a run directory")
            return 2
        resume, argv = Path(argv[i + 1]), argv[:i] + argv[i + 2 :]
    tiny = "--smoke" in argv
    argv = [a for a in argv if a != "--smoke"]
    try:
        if resume is not None:  # overrides change the saved run's settings (e.g. generations)
            train(resume=resume, overrides=argv, console=console)
            return 0
        config = resolve(argv)
        train(smoke(config) if tiny else config, console=console)
    except (ConfigError, FileExistsError, FileNotFoundError) as e:
        console.print(f"[red]error:[/red] {e}", highlight=False)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
