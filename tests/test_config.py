"""Run settings: typed overrides, presets, help, saving and loading, the smoke configuration."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

import games
from selfplay.config import (
    PRESETS,
    ArenaConfig,
    ConfigError,
    LearnerConfig,
    ModelConfig,
    RayConfig,
    ReplayConfig,
    RunConfig,
    SelfPlayConfig,
    field_docs,
    format_config,
    from_dict,
    help_text,
    parse_overrides,
    resolve,
    smoke,
    to_dict,
)
from selfplay.mcts.config import SearchConfig

SECTIONS = {
    "mcts": SearchConfig,
    "model": ModelConfig,
    "selfplay": SelfPlayConfig,
    "replay": ReplayConfig,
    "learner": LearnerConfig,
    "arena": ArenaConfig,
    "ray": RayConfig,
}


def dotted_fields() -> list[tuple[str, type, str]]:
    """(dotted key, owning class, field name) for every plain field of RunConfig."""
    out = [(f.name, RunConfig, f.name) for f in dataclasses.fields(RunConfig)]
    out = [row for row in out if row[0] not in SECTIONS]
    for section, cls in SECTIONS.items():
        out += [(f"{section}.{f.name}", cls, f.name) for f in dataclasses.fields(cls)]
    return out


def get(config: RunConfig, key: str):
    for part in key.split("."):
        config = getattr(config, part)
    return config


# -- Overrides ----------------------------------------------------------------------------------


def test_sections_are_the_ones_this_file_knows():
    sections = {f.name for f in dataclasses.fields(RunConfig) if f.name in SECTIONS}
    assert sections == set(SECTIONS)


@pytest.mark.parametrize(
    ("arg", "key", "expected"),
    [
        ("game=tictactoe", "game", "tictactoe"),
        ("seed=7", "seed", 7),
        ("generations=1_000", "generations", 1000),
        ("name=", "name", ""),
        ("mcts.simulations=200", "mcts.simulations", 200),
        ("mcts.c_init=2", "mcts.c_init", 2.0),
        ("mcts.algorithm=gumbel", "mcts.algorithm", "gumbel"),
        ("mcts.backend=numba", "mcts.backend", "numba"),
        ("model.channels=16", "model.channels", 16),
        ("selfplay.workers=3", "selfplay.workers", 3),
        ("replay.window=5000", "replay.window", 5000),
        ("learner.lr=2e-4", "learner.lr", 2e-4),
        ("ray.address=auto", "ray.address", "auto"),
        ("ray.address=ray://head:10001", "ray.address", "ray://head:10001"),
        ("ray.num_gpus=0", "ray.num_gpus", 0),
    ],
)
def test_override_converts_to_the_declared_type(arg, key, expected):
    value = get(parse_overrides([arg]), key)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("True", True),
        ("yes", True),
        ("1", True),
        ("false", False),
        ("FALSE", False),
        ("no", False),
        ("0", False),
    ],
)
def test_bool_override(text, expected):
    # Start from the opposite value so that every case changes the field.
    base = parse_overrides([f"replay.augment={'no' if expected else 'yes'}"])
    assert base.replay.augment is (not expected)
    assert parse_overrides([f"replay.augment={text}"], base).replay.augment is expected


def test_later_args_win_and_others_stay():
    config = parse_overrides(["mcts.simulations=10", "seed=3", "mcts.simulations=20"])
    assert config.mcts.simulations == 20
    assert config.seed == 3
    assert config.mcts == SearchConfig(simulations=20)
    assert config.model == ModelConfig()


def test_overrides_apply_on_top_of_base():
    base = parse_overrides(["model.blocks=2", "learner.amp=false"])
    config = parse_overrides(["model.channels=8"], base)
    assert (config.model.blocks, config.model.channels, config.learner.amp) == (2, 8, False)
    assert parse_overrides([], base) == base
    assert parse_overrides([]) == RunConfig()


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


def test_unknown_key_lists_the_valid_keys_of_its_section():
    with pytest.raises(ConfigError) as e:
        parse_overrides(["model.block=2"])
    assert str(e.value) == (
        "unknown key 'model.block'; valid keys under model: blocks, channels, heads, value_hidden; "
        "did you mean 'model.blocks'?"
    )


def test_unknown_search_key_lists_every_search_field():
    with pytest.raises(ConfigError) as e:
        parse_overrides(["mcts.simulation=200"])
    names = ", ".join(sorted(f.name for f in dataclasses.fields(SearchConfig)))
    assert str(e.value) == (
        f"unknown key 'mcts.simulation'; valid keys under mcts: {names}; "
        "did you mean 'mcts.simulations'?"
    )
    assert names.startswith("algorithm, backend, c_base, ")


def test_unknown_top_level_key():
    with pytest.raises(ConfigError) as e:
        parse_overrides(["generation=3"])
    assert str(e.value) == (
        "unknown key 'generation'; valid keys at the top level: checkpoint_every, game, "
        "generations, name, run_dir, seed; sections: arena, learner, mcts, model, ray, replay, "
        "selfplay (set their fields, e.g. arena.X=...); did you mean 'generations'?"
    )


def test_unknown_section():
    with pytest.raises(ConfigError, match=r"^unknown key 'search\.simulations'; valid keys at"):
        parse_overrides(["search.simulations=3"])


def test_a_section_cannot_be_assigned():
    with pytest.raises(ConfigError) as e:
        parse_overrides(["model=3"])
    assert str(e.value) == (
        "'model' is a section and cannot be assigned; set its fields instead, e.g. model.X=...; "
        "valid keys under model: blocks, channels, heads, value_hidden"
    )


def test_a_plain_field_has_no_subkeys():
    with pytest.raises(ConfigError) as e:
        parse_overrides(["mcts.simulations.max=3"])
    assert str(e.value) == (
        "unknown key 'mcts.simulations.max': 'mcts.simulations' is a plain field, not a section"
    )


@pytest.mark.parametrize("arg", ["mcts.simulations", "=3", ""])
def test_an_arg_without_key_and_equals_sign_is_an_error(arg):
    with pytest.raises(ConfigError) as e:
        parse_overrides([arg])
    assert str(e.value) == f"override {arg!r} is not key=value (e.g. mcts.simulations=200)"


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("seed=1.5", "bad value '1.5' for seed: expected int"),
        ("mcts.simulations=many", "bad value 'many' for mcts.simulations: expected int"),
        ("mcts.simulations=", "bad value '' for mcts.simulations: expected int"),
        ("learner.lr=fast", "bad value 'fast' for learner.lr: expected float"),
        ("learner.lr=nan", "bad value 'nan' for learner.lr: expected a finite float"),
        (
            "replay.augment=maybe",
            "bad value 'maybe' for replay.augment: expected bool (true/false, yes/no, 1/0)",
        ),
        (
            "mcts.algorithm=alphazero",
            "bad value 'alphazero' for mcts.algorithm: expected one of 'puct', 'gumbel'",
        ),
        (
            "mcts.backend=CPP",
            "bad value 'CPP' for mcts.backend: expected one of 'auto', 'cpp', 'numba'",
        ),
    ],
)
def test_bad_value_names_key_value_and_expected_type(arg, message):
    with pytest.raises(ConfigError) as e:
        parse_overrides([arg])
    assert str(e.value) == message


def test_validation_errors_of_the_dataclasses_name_the_override():
    with pytest.raises(ConfigError) as e:
        parse_overrides(["seed=1", "mcts.simulations=0"])
    assert str(e.value) == (
        "mcts.simulations=0: invalid SearchConfig: simulations must be an int >= 1, got 0"
    )
    with pytest.raises(ConfigError) as e:
        parse_overrides(["model.blocks=0", "model.channels=0"])
    assert str(e.value) == (
        "model.blocks=0, model.channels=0: invalid ModelConfig: channels must be >= 1, got 0"
    )
    assert parse_overrides(["model.blocks=0"]).model.blocks == 0  # stem and heads only
    for arg, problem in [
        ("learner.ema=1", "ema must be in [0, 1)"),
        ("learner.max_reuse=-1", "max_reuse must be >= 0"),
        ("learner.decay_steps=100", "decay_steps must be 0 or above warmup_steps (200)"),
        ("learner.min_lr_fraction=1.5", "min_lr_fraction must be in [0, 1]"),
        ("learner.length_buckets=0", "length_buckets must be >= 1, got 0"),
    ]:
        with pytest.raises(
            ConfigError, match=re.escape(f"{arg}: invalid LearnerConfig: {problem}")
        ):
            parse_overrides([arg])
    with pytest.raises(ConfigError) as e:
        parse_overrides(["checkpoint_every=0"])
    assert str(e.value) == (
        "checkpoint_every=0: invalid RunConfig: checkpoint_every must be >= 1, got 0"
    )


def test_validation_across_fields_names_every_override_of_the_section():
    with pytest.raises(ConfigError) as e:
        parse_overrides(["replay.min_positions=10", "learner.lr=1", "replay.window=5"])
    assert str(e.value) == (
        "replay.window=5, replay.min_positions=10: "
        "invalid ReplayConfig: min_positions (10) must be <= window (5)"
    )
    # Together the same values pass where one at a time would not.
    config = parse_overrides(["replay.min_positions=10", "replay.window=10"])
    assert (config.replay.window, config.replay.min_positions) == (10, 10)


# -- Presets ------------------------------------------------------------------------------------


@pytest.mark.parametrize("game", sorted(PRESETS))
def test_presets_are_valid_overrides_for_registered_games(game):
    assert game in games.available()
    config = parse_overrides(PRESETS[game])
    for arg in PRESETS[game]:
        key, _, _ = arg.partition("=")
        # Every entry changes something: a preset line equal to the default only misleads.
        assert get(config, key) != get(RunConfig(), key), arg


def test_resolve_applies_the_games_preset():
    config = resolve(["game=tictactoe"])
    assert config == parse_overrides([*PRESETS["tictactoe"], "game=tictactoe"])
    assert config.game == "tictactoe"
    assert (config.model.blocks, config.model.channels) == (2, 32)
    assert config.mcts.simulations < RunConfig().mcts.simulations
    assert config.replay.min_positions < RunConfig().replay.min_positions
    assert config.learner.steps_per_generation < RunConfig().learner.steps_per_generation


def test_user_overrides_win_over_the_preset_wherever_game_appears():
    assert resolve(["game=tictactoe", "model.blocks=3"]).model.blocks == 3
    assert resolve(["model.blocks=3", "game=tictactoe"]).model.blocks == 3
    assert resolve(["game=tictactoe", "model.blocks=3"]).model.channels == 32


def test_resolve_takes_the_last_game():
    config = resolve(["game=tictactoe", "game=othello"])
    assert config == parse_overrides([*PRESETS["othello"], "game=othello"])
    assert config.model.blocks == RunConfig().model.blocks  # no tictactoe preset left over


def test_resolve_without_game_uses_the_default_games_preset():
    assert resolve([]) == parse_overrides(PRESETS[RunConfig().game])


def test_a_game_without_preset_gets_the_defaults():
    assert resolve(["game=my_nim.py:Nim", "seed=2"]) == RunConfig(game="my_nim.py:Nim", seed=2)


def test_resolve_reports_bad_args():
    with pytest.raises(ConfigError, match=r"did you mean 'model\.blocks'"):
        resolve(["game=tictactoe", "model.block=3"])


# -- Documentation ------------------------------------------------------------------------------


def test_field_docs_reads_attribute_docstrings():
    assert field_docs(ModelConfig) == {
        "blocks": "Residual blocks (AlphaZero: 19 or 39); 0 = the stem and the heads only. "
        "Text games:\nthe transformer's layers.",
        "channels": "Convolution channels in every block (AlphaZero: 256). Text games: the "
        "transformer's\nwidth (d_model).",
        "value_hidden": "Width of the value head's hidden layer (AlphaZero: 256).",
        "heads": "Attention heads of the transformer used by text games; channels must divide by "
        "it.",
    }
    # Continuation lines lose the source's indentation.
    assert field_docs(SelfPlayConfig)["temperature_moves"] == (
        "Plies played with temperature mcts.temperature; later plies play the most visited move\n"
        "(AlphaZero: 30 in chess)."
    )


def test_field_docs_returns_a_fresh_dict():
    field_docs(ModelConfig)["blocks"] = "changed"
    assert field_docs(ModelConfig)["blocks"].startswith("Residual blocks (AlphaZero")


@pytest.mark.parametrize("cls", [RunConfig, *SECTIONS.values()], ids=lambda c: c.__name__)
def test_every_field_is_documented(cls):
    docs = field_docs(cls)
    assert list(docs) == [f.name for f in dataclasses.fields(cls)]
    assert all(doc.strip() for doc in docs.values())


def test_help_lists_every_field_with_type_default_and_doc():
    text = help_text()
    for key, cls, name in dotted_fields():
        default = json.dumps(getattr(cls(), name))
        entry = f"\n  {key}: "
        assert entry in text, key
        line = text.split(entry, 1)[1].split("\n", 1)[0]
        assert line.endswith(f" = {default}"), (key, line)
        doc = "\n".join(f"      {d}" for d in field_docs(cls)[name].splitlines())
        assert f"{entry}{line}\n{doc}\n" in text, key
    for section, cls in SECTIONS.items():
        assert f"\n{section}: {cls.__doc__.splitlines()[0]}\n" in text
    assert '\n  mcts.algorithm: {puct, gumbel} = "puct"\n' in text
    assert "\n  replay.augment: bool = true\n" in text
    assert "\n  learner.lr: float = 0.002\n" in text


def test_help_shows_the_current_values_and_the_presets():
    text = help_text(resolve(["game=tictactoe", "learner.amp=no"]))
    assert '\n  game: str = "tictactoe"  (default "connect4")\n' in text
    assert "\n  model.blocks: int = 2  (default 5)\n" in text
    assert "\n  learner.amp: bool = false  (default true)\n" in text
    assert "\n  seed: int = 0\n" in text
    presets = text.split("\npresets:", 1)[1]
    for game, preset in PRESETS.items():
        assert f"\n  {game}: " in presets
        for arg in preset:
            assert arg in presets


# -- Saving and loading -------------------------------------------------------------------------

CHANGED = [
    "game=othello",
    "seed=5",
    "name=x",
    "mcts.algorithm=gumbel",
    "mcts.c_scale=0.5",
    "model.blocks=3",
    "selfplay.workers=2",
    "replay.augment=no",
    "learner.lr=1e-3",
    "ray.address=auto",
]


def test_to_dict_is_nested_and_json_ready():
    config = parse_overrides(CHANGED)
    d = to_dict(config)
    assert set(d) == {f.name for f in dataclasses.fields(RunConfig)}
    assert d["mcts"]["algorithm"] == "gumbel"
    assert d["replay"]["augment"] is False
    assert json.loads(json.dumps(d)) == d


def test_from_dict_round_trips_through_json():
    config = parse_overrides(CHANGED)
    assert config != RunConfig()
    assert from_dict(json.loads(json.dumps(to_dict(config)))) == config
    assert from_dict(to_dict(RunConfig())) == RunConfig()


def test_from_dict_takes_defaults_for_missing_keys_and_ints_for_floats():
    config = from_dict({"seed": 4, "learner": {"lr": 1}})
    assert config == parse_overrides(["seed=4", "learner.lr=1.0"])
    assert type(config.learner.lr) is float


@pytest.mark.parametrize(
    ("d", "message"),
    [
        (
            {"model": {"layers": 3}},
            "unknown key 'model.layers'; valid keys under model: blocks, channels, heads, "
            "value_hidden",
        ),
        ({"nmae": "x"}, "unknown key 'nmae'; valid keys at the top level: checkpoint_every, "),
        ({"mcts": 3}, "'mcts' is a section and cannot be assigned"),
        ({"seed": {"value": 3}}, "unknown key 'seed.value': 'seed' is a plain field"),
        ({"seed": "3"}, "bad value '3' for seed: expected int"),
        ({"seed": True}, "bad value True for seed: expected int"),
        ({"replay": {"augment": 1}}, "bad value 1 for replay.augment: expected bool"),
        ({"mcts": {"backend": "gpu"}}, "bad value 'gpu' for mcts.backend: expected {auto, cpp, "),
        ({"learner": {"lr": "2e-3"}}, "bad value '2e-3' for learner.lr: expected float"),
        (
            {"mcts": {"simulations": 0}},
            "mcts.simulations=0: invalid SearchConfig: simulations must be an int >= 1, got 0",
        ),
    ],
)
def test_from_dict_rejects_what_overrides_reject(d, message):
    with pytest.raises(ConfigError) as e:
        from_dict(d)
    assert str(e.value).startswith(message)


def test_format_config_lists_every_key_aligned():
    config = parse_overrides(CHANGED)
    lines = format_config(config).splitlines()
    assert [line.split(" = ")[0].rstrip() for line in lines] == [k for k, _, _ in dotted_fields()]
    assert len({line.index(" = ") for line in lines}) == 1
    pairs = dict(line.split(" = ", 1) for line in lines)
    pairs = {key.rstrip(): json.loads(value) for key, value in pairs.items()}
    assert pairs["mcts.algorithm"] == "gumbel"
    assert pairs["replay.augment"] is False
    assert pairs["learner.lr"] == 1e-3
    assert pairs["ray.address"] == "auto"
    assert pairs["ray.num_gpus"] == -1


# -- Smoke --------------------------------------------------------------------------------------


@pytest.mark.parametrize("game", [*sorted(PRESETS), "my_nim.py:Nim"])
def test_smoke_keeps_identity_and_settings_but_is_tiny(game):
    config = resolve(
        [f"game={game}", "seed=9", "run_dir=/tmp/r", "name=n", "mcts.algorithm=gumbel"]
    )
    tiny = smoke(config)
    assert (tiny.game, tiny.seed, tiny.run_dir, tiny.name) == (game, 9, "/tmp/r", "n")
    assert tiny.mcts == dataclasses.replace(config.mcts, simulations=8)
    assert tiny.model == ModelConfig(blocks=1, channels=8, value_hidden=8)
    assert (tiny.selfplay.workers, tiny.selfplay.games_per_worker) == (1, 8)
    assert tiny.selfplay.games_per_generation == 8
    assert tiny.selfplay.temperature_moves == config.selfplay.temperature_moves
    assert tiny.replay.min_positions == 16
    assert tiny.replay.augment == config.replay.augment
    assert (tiny.learner.batch_size, tiny.learner.steps_per_generation) == (16, 2)
    assert tiny.learner.warmup_steps == 1
    assert tiny.learner.lr == config.learner.lr
    assert (tiny.generations, tiny.checkpoint_every) == (2, 1)
    assert tiny.ray == config.ray
    assert smoke(tiny) == tiny
    assert from_dict(to_dict(tiny)) == tiny


def test_smoke_keeps_a_valid_replay_window():
    config = parse_overrides(["replay.window=4", "replay.min_positions=2"])
    assert smoke(config).replay.window >= smoke(config).replay.min_positions == 16
