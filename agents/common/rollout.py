"""Synchronous episodes in a Gymnasium ``VectorEnv`` of the segenv env.

:func:`collect_rollout` plays one episode in every sub-env of a vector env
(:func:`make_vector_env`). It only needs ``reset(seed=...)`` and ``step(actions)`` with batched
arrays and ``info["reward_map"]`` / ``info["dice"]`` / ``info["num_clicks"]``, so a batched env
with the same interface plugs in unchanged. :func:`episode_seeds` derives the reset seeds of an
update from the run seed, so a resumed run replays the episodes of the interrupted one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from segenv.errors import ConfigError, DataError, InputTypeError, describe


class LearnerInfo(gym.Wrapper[np.ndarray, np.ndarray, np.ndarray, np.ndarray]):
    """Keep only the fixed-size ``info`` entries learners use, so ``SyncVectorEnv`` can batch them.

    The env's ``info["clicks"]`` grows during an episode and cannot be stacked across envs;
    this wrapper keeps ``dice``, ``num_clicks``, ``step`` and (after a step) ``reward_map``.
    """

    KEYS = ("dice", "num_clicks", "step", "reward_map")

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset the wrapped env and filter its info."""
        observation, info = self.env.reset(seed=seed, options=options)
        return observation, self._keep(info)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Step the wrapped env and filter its info."""
        observation, reward, terminated, truncated, info = self.env.step(action)
        return observation, float(reward), terminated, truncated, self._keep(info)

    def _keep(self, info: Mapping[str, Any]) -> dict[str, Any]:
        return {key: info[key] for key in self.KEYS if key in info}


def make_env(env_id: str, env_kwargs: Mapping[str, Any]) -> gym.Env:
    """``gym.make(env_id, **env_kwargs)`` wrapped in :class:`LearnerInfo`."""
    import segenv  # noqa: F401  (registers the ids)

    return LearnerInfo(gym.make(env_id, **env_kwargs))


def make_vector_env(
    env_id: str, env_kwargs: Mapping[str, Any], num_envs: int
) -> gym.vector.SyncVectorEnv:
    """``num_envs`` copies of the env in a Gymnasium ``SyncVectorEnv``."""
    if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
        raise ConfigError(f"num_envs must be an int >= 1, got {num_envs!r}")
    kwargs = dict(env_kwargs)
    return gym.vector.SyncVectorEnv([lambda: make_env(env_id, kwargs) for _ in range(num_envs)])


def sub_envs(envs: gym.vector.VectorEnv) -> list[gym.Env]:
    """The unwrapped sub-envs of a ``SyncVectorEnv`` (for per-env calls like set_confidence)."""
    inner = getattr(envs, "envs", None)
    if inner is None:
        raise InputTypeError(
            f"need a SyncVectorEnv (with .envs) for per-env calls, got {describe(envs)}"
        )
    return [env.unwrapped for env in inner]


@dataclass
class Rollout:
    """One synchronous episode of ``B`` envs, time-major (``T`` steps).

    Attributes:
        observations: float32 ``(T, B, C, *spatial)``, the state before each action.
        final_observation: float32 ``(B, C, *spatial)``, the state after the last step.
        actions: int64 ``(T, B, *spatial)``.
        reward_maps: float32 ``(T, B, *spatial)``, the env's per-voxel rewards.
        rewards: float32 ``(T, B)``, their means (the env's scalar reward, r̄ of eq 7).
        dice: float ``(T + 1, B)``: Dice of ``p(0)``, then after every step.
        num_clicks: int ``(T + 1, B)``: clicks given so far at each of those points.
    """

    observations: np.ndarray
    final_observation: np.ndarray
    actions: np.ndarray
    reward_maps: np.ndarray
    rewards: np.ndarray
    dice: np.ndarray
    num_clicks: np.ndarray

    @property
    def num_steps(self) -> int:
        """T."""
        return int(self.actions.shape[0])

    @property
    def num_envs(self) -> int:
        """B."""
        return int(self.actions.shape[1])

    @property
    def voxel_transitions(self) -> int:
        """Voxel-agent transitions in this rollout (``T · B · voxels``)."""
        return int(self.actions.size)


Actor = Callable[[np.ndarray], np.ndarray]
"""``act(observations (B, C, *spatial)) -> actions (B, *spatial)`` for a batch of envs."""


def collect_rollout(
    envs: gym.vector.VectorEnv,
    act: Actor,
    seeds: Sequence[int],
    *,
    before_step: Callable[[np.ndarray, np.ndarray], None] | None = None,
) -> Rollout:
    """Play one episode in every sub-env (all start together and end after the env's T steps).

    Args:
        envs: A vector env of the segenv env (see :func:`make_vector_env`), or anything with the
            same batched ``reset`` / ``step`` and info keys.
        act: The batched actor; a learner may keep the network outputs it computes here.
        seeds: One reset seed per sub-env (picks the case and the initial state).
        before_step: Called as ``before_step(observations, actions)`` before each step (MECCA
            gives the env its confidence map there).

    Returns:
        The episode as a :class:`Rollout`.
    """
    if len(seeds) != envs.num_envs:
        raise ConfigError(f"need one seed per env ({envs.num_envs}), got {len(seeds)}")
    observation, info = envs.reset(seed=[int(s) for s in seeds])  # type: ignore[arg-type]
    observations, actions, reward_maps, rewards = [], [], [], []
    dice, clicks = [np.asarray(info["dice"], float)], [np.asarray(info["num_clicks"], int)]
    done = np.zeros(envs.num_envs, bool)
    while not done.all():
        if done.any():
            raise DataError("the sub-envs ended at different steps; use one max_steps for all")
        action = np.asarray(act(observation))
        if before_step is not None:
            before_step(observation, action)
        observations.append(observation)
        actions.append(action.astype(np.int64, copy=False))
        observation, reward, terminated, truncated, info = envs.step(action)
        reward_maps.append(np.asarray(info["reward_map"], np.float32))
        rewards.append(np.asarray(reward, np.float32))
        dice.append(np.asarray(info["dice"], float))
        clicks.append(np.asarray(info["num_clicks"], int))
        done = np.asarray(terminated) | np.asarray(truncated)
    return Rollout(
        observations=np.stack(observations),
        final_observation=np.asarray(observation),
        actions=np.stack(actions),
        reward_maps=np.stack(reward_maps),
        rewards=np.stack(rewards),
        dice=np.stack(dice),
        num_clicks=np.stack(clicks),
    )


def episode_seeds(base_seed: int, update: int, num_envs: int) -> list[int]:
    """Reset seeds of update ``update``: a pure function of the run seed and the update index.

    Deriving them from the update index (not from a generator's state) makes a resumed run
    replay exactly the episodes the interrupted one would have played.
    """
    start = (base_seed * 1_000_003 + update * num_envs) % 2**31
    return [(start + i) % 2**31 for i in range(num_envs)]
