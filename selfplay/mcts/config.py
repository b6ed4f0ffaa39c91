"""Search settings: one frozen dataclass, every field with its meaning and the paper's value."""

from __future__ import annotations

import dataclasses
from typing import Literal


@dataclasses.dataclass(frozen=True, kw_only=True)
class SearchConfig:
    """How the search spends its simulations and how it picks the move to play."""

    simulations: int = 100
    """New simulations per tree per move (AlphaZero: 800)."""
    algorithm: Literal["puct", "gumbel"] = "puct"
    """"puct": AlphaZero's search; "gumbel": Gumbel AlphaZero's root search (Danihelka et al.
    2022), which improves the policy even with a handful of simulations."""
    backend: Literal["auto", "cpp", "numba"] = "auto"
    """Which compiled tree kernels run: "auto" takes C++ when it imports, else Numba."""

    # -- PUCT -------------------------------------------------------------------------------
    c_init: float = 1.25
    """Exploration constant at low visit counts (AlphaZero: 1.25)."""
    c_base: float = 19652.0
    """Visit count scale over which exploration grows, c = c_init + log((N + c_base + 1) / c_base)
    (AlphaZero: 19652)."""
    dirichlet_alpha: float = 0.3
    """Concentration of the root noise (AlphaZero: 0.3 chess, 0.03 Go; about 10 / legal moves)."""
    dirichlet_fraction: float = 0.25
    """Share of the root prior replaced by noise; 0 turns the noise off (AlphaZero: 0.25)."""
    fpu_reduction: float = 0.0
    """First-play urgency: an unvisited child is valued at the parent's value minus this times
    the square root of the prior mass already visited (Leela Zero: 0.25; 0 = parent value)."""
    temperature: float = 1.0
    """Move choice: visit counts to the power 1/temperature; 0 plays the most visited move."""
    leaves_per_step: int = 1
    """Leaves selected per tree per step, kept apart by virtual loss (1 = plain sequential
    search, as the papers)."""
    virtual_loss: float = 1.0
    """Each pending leaf counts as this many lost visits on its path until it is backed up."""
    terminal_values: Literal["game", "network"] = "game"
    """How terminal leaves are valued: "game" by the game's returns (for text games: the
    verifier's verdict), "network" by the network's value, so that a one-player search never
    sees the verifier and only the final answer is checked (an evaluation mode)."""

    # -- Gumbel -----------------------------------------------------------------------------
    max_considered_actions: int = 16
    """Actions sampled without replacement at the root by Gumbel-top-k (paper: 16)."""
    gumbel_scale: float = 1.0
    """Scale of the Gumbel noise; 0 makes the root choice deterministic (for evaluation)."""
    c_visit: float = 50.0
    """sigma(q) = (c_visit + max visits) * c_scale * q (paper: 50)."""
    c_scale: float = 0.1
    """See c_visit (paper: 1.0; mctx: 0.1). At 1.0 the deterministic interior selection is so
    greedy that it can starve an unvisited refutation for hundreds of simulations."""

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.simulations, int) or self.simulations < 1:
            problems.append(f"simulations must be an int >= 1, got {self.simulations!r}")
        if self.algorithm not in ("puct", "gumbel"):
            problems.append(f"algorithm must be 'puct' or 'gumbel', got {self.algorithm!r}")
        if self.backend not in ("auto", "cpp", "numba"):
            problems.append(f"backend must be 'auto', 'cpp' or 'numba', got {self.backend!r}")
        if self.terminal_values not in ("game", "network"):
            problems.append(
                f"terminal_values must be 'game' or 'network', got {self.terminal_values!r}"
            )
        if not isinstance(self.leaves_per_step, int) or self.leaves_per_step < 1:
            problems.append(f"leaves_per_step must be an int >= 1, got {self.leaves_per_step!r}")
        if self.algorithm == "gumbel" and self.leaves_per_step != 1:
            problems.append("gumbel search takes leaves_per_step=1 (its schedule is sequential)")
        if not 0 <= self.dirichlet_fraction <= 1:
            problems.append(f"dirichlet_fraction must be in [0, 1], got {self.dirichlet_fraction}")
        for name in (
            "c_init",
            "c_base",
            "dirichlet_alpha",
            "fpu_reduction",
            "temperature",
            "virtual_loss",
            "gumbel_scale",
            "c_visit",
            "c_scale",
        ):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.c_base <= 0 or self.dirichlet_alpha <= 0:
            problems.append("c_base and dirichlet_alpha must be > 0")
        if not isinstance(self.max_considered_actions, int) or self.max_considered_actions < 1:
            problems.append("max_considered_actions must be an int >= 1")
        if problems:
            raise ValueError("invalid SearchConfig: " + "; ".join(problems))
