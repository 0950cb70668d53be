"""``segenv.check(env)``: every conformance test that applies to an env or a view, in one call.

What runs depends on what ``env`` is:

===========================  ===================================================================
Gymnasium ``Env``            ``gymnasium.utils.env_checker.check_env`` (on ``env.unwrapped``),
                             determinism, reward sign
``VectorEnv`` (the batched   vector API (shapes, dtypes, info masks), determinism, reward sign
env, ``make_vec`` envs)
PettingZoo ``ParallelEnv``   ``parallel_api_test``, ``parallel_seed_test``, reward sign
PettingZoo ``AECEnv``        ``api_test``, ``seed_test``
===========================  ===================================================================

*Determinism*: two rollouts from ``reset(seed=seed)`` with the same seeded actions agree
exactly (observations, rewards, end flags, info). *Reward sign*: from the same reset, moving
every voxel's probability towards the ground truth (the largest delta towards it) earns a
higher mean reward than moving every voxel away; with the default ``relative`` design every
voxel's reward is >= 0 towards and <= 0 away. It applies to the segenv envs and views (it needs
the ground truth); other envs report it as skipped.

The module is callable, so ``segenv.check(env)`` works whether or not ``segenv.check`` has been
imported as a module. The env is left reset in some state of the checks: build a fresh one
afterwards if it matters.
"""

from __future__ import annotations

import copy
import sys
import types
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils.env_checker import check_env, data_equivalence
from gymnasium.vector import VectorEnv
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test, seed_test

from segenv.envs.interactive_seg import InteractiveSegEnv
from segenv.errors import InputTypeError, SegEnvError, describe
from segenv.rewards import reward_traits

__all__ = ["CheckFailure", "CheckReport", "check"]


class CheckFailure(SegEnvError, AssertionError):
    """A conformance check failed; the message names the check and what went wrong."""


@dataclass
class CheckReport:
    """What :func:`check` ran.

    Attributes:
        passed: the names of the checks that passed, in order.
        skipped: check name → why it did not apply.
        warnings: the distinct warning messages the checks raised (Gymnasium's and PettingZoo's
            checkers warn about style points such as infinite observation bounds).
    """

    passed: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def check(
    env: Any,
    *,
    env_fn: Callable[[], Any] | None = None,
    seed: int = 0,
    steps: int = 3,
    num_cycles: int = 10,
    skip_render_check: bool = True,
) -> CheckReport:
    """Run the conformance checks that apply to ``env`` (see the module docstring).

    Args:
        env: a Gymnasium ``Env`` or ``VectorEnv``, or a PettingZoo ``ParallelEnv`` / ``AECEnv``.
        env_fn: builds a fresh, identical env, for PettingZoo's seed tests (which need two);
            None: deep copies of ``env``.
        seed: the reset seed of the determinism and reward-sign checks.
        steps: steps per determinism rollout.
        num_cycles: PettingZoo's ``num_cycles``.
        skip_render_check: passed to Gymnasium's ``check_env``.

    Returns:
        A :class:`CheckReport` of the checks that passed and those that did not apply.

    Raises:
        CheckFailure: the first failing check, with its name and the original error.
    """
    report = CheckReport()
    factory = env_fn if env_fn is not None else (lambda: copy.deepcopy(env))
    if isinstance(env, gym.Env):
        plan = [
            (
                "gymnasium.check_env",
                lambda: check_env(env.unwrapped, skip_render_check=skip_render_check),
            ),
            ("determinism", lambda: _check_determinism(env, seed, steps)),
            ("reward_sign", lambda: _check_reward_sign(env, seed)),
        ]
    elif isinstance(env, VectorEnv):
        plan = [
            ("vector_api", lambda: _check_vector_api(env, seed)),
            ("determinism", lambda: _check_determinism(env, seed, steps)),
            ("reward_sign", lambda: _check_reward_sign(env, seed)),
        ]
    elif isinstance(env, ParallelEnv):
        plan = [
            ("pettingzoo.parallel_api_test", lambda: parallel_api_test(env, num_cycles)),
            ("pettingzoo.parallel_seed_test", lambda: parallel_seed_test(factory, num_cycles)),
            ("reward_sign", lambda: _check_reward_sign(env, seed)),
        ]
    elif isinstance(env, AECEnv):
        plan = [
            ("pettingzoo.api_test", lambda: api_test(env, num_cycles)),
            ("pettingzoo.seed_test", lambda: seed_test(factory, num_cycles)),
        ]
    else:
        raise InputTypeError(
            "check(env) takes a Gymnasium Env or VectorEnv or a PettingZoo ParallelEnv or "
            f"AECEnv, got {describe(env)}"
        )
    for name, run in plan:
        _run(name, run, report)
    return report


class _Skip(Exception):
    """A check that does not apply to this env (the message says why)."""


def _run(name: str, run: Callable[[], object], report: CheckReport) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            run()
        except _Skip as reason:
            report.skipped[name] = str(reason)
        except Exception as error:
            raise CheckFailure(f"check {name!r} failed: {type(error).__name__}: {error}") from error
        else:
            report.passed.append(name)
    for message in (str(w.message) for w in caught):
        if message not in report.warnings:
            report.warnings.append(message)


# --------------------------------------------------------------------------------------------
# Determinism


def _check_determinism(env: Any, seed: int, steps: int) -> None:
    first = _rollout(env, seed, steps)
    second = _rollout(env, seed, steps)
    for index, (a, b) in enumerate(zip(first, second, strict=True)):
        if not data_equivalence(a, b, exact=True):
            raise AssertionError(
                f"two rollouts from reset(seed={seed}) with the same actions differ at "
                f"record {index} (reset output, then one record per step)"
            )


def _rollout(env: Any, seed: int, steps: int) -> list[Any]:
    observation, info = env.reset(seed=seed)
    env.action_space.seed(seed)
    records: list[Any] = [_plain((observation, info))]
    for _ in range(steps):
        records.append(_plain(env.step(env.action_space.sample())))
    return records


def _plain(data: Any) -> Any:
    """A copy of ``data`` with torch tensors as numpy arrays and mappings as dicts.

    Copies, because the batched env's outputs are views of buffers the next step overwrites.
    """
    if isinstance(data, dict):
        return {key: _plain(value) for key, value in data.items()}
    if isinstance(data, (tuple, list)):
        return type(data)(_plain(value) for value in data)
    if isinstance(data, np.ndarray) and data.dtype == object:
        return [_plain(value) for value in data]
    if isinstance(data, np.ndarray):
        return data.copy()
    if type(data).__module__.startswith("torch") and hasattr(data, "cpu"):
        return data.detach().cpu().numpy().copy()
    if hasattr(data, "keys") and hasattr(data, "__getitem__") and not isinstance(data, dict):
        return {key: _plain(data[key]) for key in data.keys()}
    return data


# --------------------------------------------------------------------------------------------
# Vector API


def _check_vector_api(env: VectorEnv, seed: int) -> None:  # type: ignore[type-arg]
    n = env.num_envs
    observation, info = env.reset(seed=seed)
    _expect_in_space(env.observation_space, observation, "reset observation")
    _expect_info_masks(info, n)
    env.action_space.seed(seed)
    observation, reward, terminated, truncated, info = env.step(env.action_space.sample())
    _expect_in_space(env.observation_space, observation, "step observation")
    for name, value in (("reward", reward), ("terminated", terminated), ("truncated", truncated)):
        if tuple(_plain(value).shape) != (n,):
            raise AssertionError(f"{name} must have shape ({n},), got {describe(value)}")
    _expect_info_masks(info, n)
    if env.metadata.get("autoreset_mode") is None:
        raise AssertionError("metadata['autoreset_mode'] must name the env's AutoresetMode")


def _expect_in_space(space: gym.Space[Any], value: Any, what: str) -> None:
    if not space.contains(_plain(value)):
        raise AssertionError(f"{what} {describe(value)} is not in the observation space {space}")


def _expect_info_masks(info: dict[str, Any], n: int) -> None:
    for key in info:
        if key.startswith("_"):
            continue
        mask = info.get(f"_{key}")
        if not isinstance(mask, np.ndarray) or mask.dtype != bool or mask.shape != (n,):
            raise AssertionError(
                f"info[{key!r}] needs a bool mask info['_{key}'] of shape ({n},) (Gymnasium's "
                f"vector info layout), got {describe(mask)}"
            )


# --------------------------------------------------------------------------------------------
# Reward sign


@dataclass(frozen=True)
class _SignProbe:
    """How to reset and step one kind of segenv env for the reward-sign check (numpy maps)."""

    reset: Callable[[], object]
    state: Callable[[], tuple[np.ndarray, np.ndarray]]  # probability, label (batch-first)
    step: Callable[[np.ndarray], np.ndarray]  # joint action → reward maps (batch-first)
    deltas: np.ndarray
    design: Any
    give_confidence: Callable[[], None]


def _check_reward_sign(env: Any, seed: int) -> None:
    probe = _sign_probe(env, seed)
    maps = {}
    for direction in ("towards", "away"):
        probe.reset()
        probability, label = probe.state()
        probe.give_confidence()
        maps[direction] = probe.step(oracle_action(probability, label, probe.deltas, direction))
    towards, away = (float(maps[d].mean(dtype=np.float64)) for d in ("towards", "away"))
    if not towards > away:
        raise AssertionError(
            f"moving every voxel towards the ground truth earns a mean reward of {towards:.6g}, "
            f"not more than moving every voxel away ({away:.6g}): the reward does not favour "
            "better segmentations"
        )
    if reward_traits(probe.design).is_gain and (
        maps["towards"].min() < 0 or maps["away"].max() > 0
    ):
        raise AssertionError(
            "with the relative (cross-entropy gain) reward every voxel moved towards the truth "
            "must earn >= 0 and every voxel moved away <= 0; got "
            f"min(towards)={maps['towards'].min():.6g}, max(away)={maps['away'].max():.6g}"
        )


def oracle_action(
    probability: np.ndarray, label: np.ndarray, deltas: np.ndarray, direction: str = "towards"
) -> np.ndarray:
    """Per voxel, the index of the largest delta towards (or away from) the ground truth.

    Args:
        probability: float ``(..., D, H, W)`` current ``p``.
        label: bool ground truth of the same shape.
        deltas: the action set ``(K,)``.
        direction: ``"towards"`` or ``"away"``.

    Returns:
        int64 action indices, the shape of ``probability``.
    """
    up, down = int(np.argmax(deltas)), int(np.argmin(deltas))
    wants_up = label if direction == "towards" else ~label
    return np.where(wants_up, up, down).astype(np.int64)


def _sign_probe(env: Any, seed: int) -> _SignProbe:
    from segenv.envs.voxel_agents import VoxelAgentsParallelEnv

    base = env.unwrapped if isinstance(env, (gym.Env, VectorEnv)) else env
    if isinstance(base, InteractiveSegEnv):
        return _single_probe(env, base, seed)
    if isinstance(base, VoxelAgentsParallelEnv):
        return _parallel_probe(base, seed)
    batched = sys.modules.get("segenv.envs.batched")  # loaded only if torch is in use
    if batched is not None and isinstance(base, batched.BatchedInteractiveSegEnv):
        return _batched_probe(base, seed)
    raise _Skip(f"{describe(base)} is not a segenv env or view: its ground truth is unknown")


def _single_probe(env: Any, base: InteractiveSegEnv, seed: int) -> _SignProbe:
    def step(action: np.ndarray) -> np.ndarray:
        info = env.step(action[0].reshape(base.action_space.shape))[4]
        return np.asarray(info["reward_map"])[None]

    return _reference_probe(base, lambda: env.reset(seed=seed), step)


def _parallel_probe(view: Any, seed: int) -> _SignProbe:
    def step(action: np.ndarray) -> np.ndarray:
        return np.asarray(view.step_array(action[0].reshape(view.view_shape))[1])[None]

    return _reference_probe(view.env, lambda: view.reset_array(seed=seed), step)


def _reference_probe(
    base: InteractiveSegEnv, reset: Callable[[], object], step: Callable[[np.ndarray], np.ndarray]
) -> _SignProbe:
    """The probe of the reference env itself or of a view that steps it."""

    def give_confidence() -> None:  # the confidence design needs a map: a neutral 0.5
        if reward_traits(base.reward_design).needs_confidence and base.confidence_fn is None:
            base.set_confidence(np.full_like(base.probability, 0.5))

    return _SignProbe(
        reset=reset,
        state=lambda: (base.probability.reshape(1, *base.volume_shape), base.case.label[None]),
        step=step,
        deltas=np.asarray(base.deltas),
        design=base.reward_design,
        give_confidence=give_confidence,
    )


def _batched_probe(envs: Any, seed: int) -> _SignProbe:
    shape = envs.config.volume_shape

    def step(action: np.ndarray) -> np.ndarray:
        joint = action.reshape(envs.num_envs, *envs.single_action_space.shape)
        maps = envs.step(joint)[4]["reward_map"]
        return np.asarray(_plain(maps)).reshape(envs.num_envs, *shape)

    def give_confidence() -> None:
        if reward_traits(envs.reward_design).needs_confidence and envs.confidence_fn is None:
            envs.set_confidence(np.full((envs.num_envs, *envs.single_action_space.shape), 0.5))

    return _SignProbe(
        reset=lambda: envs.reset(seed=seed),
        state=lambda: (
            _plain(envs.probability).reshape(envs.num_envs, *shape),
            _plain(envs.labels).reshape(envs.num_envs, *shape),
        ),
        step=step,
        deltas=_plain(envs.deltas),
        design=envs.reward_design,
        give_confidence=give_confidence,
    )


class _CallableModule(types.ModuleType):
    """The module type of ``segenv.check``: calling the module calls :func:`check`."""

    def __call__(self, env: Any, **kwargs: Any) -> CheckReport:
        return check(env, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
