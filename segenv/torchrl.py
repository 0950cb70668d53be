"""The environment as a TorchRL ``EnvBase``: tensordicts in and out, every voxel's reward kept.

::

    import segenv.torchrl  # explicitly: ``import segenv`` imports neither torch nor TorchRL

    env = segenv.torchrl.make_env(shape=(64, 64), num_envs=4, device="cpu", num_cases=8)
    rollout = env.rollout(5)  # a TensorDict [4, 5]: one whole episode per volume
    rollout["next", "reward"].shape  # (4, 5, 64, 64, 1): the per-voxel reward map of each step

:class:`TorchRLInteractiveSegEnv` wraps the batched torch env
(:class:`~segenv.envs.batched.BatchedInteractiveSegEnv`: N volumes as tensors on CPU or CUDA)
in TorchRL's environment API, so TorchRL's collectors, transforms, replay buffers and
objectives run on it unchanged. The MDP is the reference env's (SPEC §2-§7); only the layout
changes.

## Specs (batch size ``[N]``, ``*S`` = ``(D, H, W)``, or ``(H, W)`` for a 2D env)
========================  ================================================================
``observation``           float32 ``[N, C, *S]``: image (M modalities), ``p``, ``h+``, ``h-``
``dice``                  float32 ``[N, 1]``: Dice of ``p >= 0.5`` (after reset / the step)
``num_clicks``, ``step``  int64 ``[N, 1]``: clicks so far, steps taken in the episode
``action``                int64 ``[N, *S]``: one index into the action set per voxel
                          (``Categorical(K)``)
``reward``                float32 ``[N, *S, 1]``: the per-voxel reward map
                          (``info["reward_map"]`` of the Gymnasium env); its mean is the
                          Gymnasium env's scalar reward
``done``, ``terminated``  bool ``[N, 1]``: True after ``max_steps`` steps
``truncated``             bool ``[N, 1]``: always False
========================  ================================================================

**Why the reward keeps the voxels.** TorchRL's value estimators take values and rewards
shaped ``[*B, T, *F]`` and its PPO losses keep the surrogate elementwise over trailing
dimensions, so a per-voxel reward ``[N, *S, 1]`` with a per-voxel value map of the same shape
gives every voxel agent its own return and advantage (PixelRL, RL4Seg). The done flags are the
episode's (one per volume): broadcast them over the voxels where an estimator needs them
(:class:`segenv_agents.ppo.VoxelGAE`).

## Episodes and seeds
Every volume's episode ends after ``max_steps`` steps (``terminated``). ``reset`` resets every
volume, or those in the ``"_reset"`` mask ``[N, 1]`` (TorchRL's partial reset, which
``rollout(..., break_when_any_done=False)`` and the collectors use). ``set_seed(s)`` seeds the
next full reset: volume ``i`` then starts as the reference env reset with seed ``s + i``
(Gymnasium's ``SyncVectorEnv`` convention); later resets continue each volume's generator.
A worked example: ``env.set_seed(7); env.rollout(5)`` plays the episodes that
``gym.make(...).reset(seed=7 + i)`` starts, the same cases, clicks and rewards.

## Arguments
:func:`make_env` takes the reference env's keyword arguments (``shape``, ``dataset``,
``reward``, ``user``, ...: see :class:`~segenv.envs.interactive_seg.InteractiveSegEnv`), plus
``num_envs``, ``device`` (``"cpu"``, ``"cuda"``, ``"auto"``) and ``num_threads`` (threads of
the per-volume host work, :class:`~segenv.envs.batched.BatchedInteractiveSegEnv`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium.vector import AutoresetMode
from tensordict import TensorDict, TensorDictBase
from torchrl.data import Categorical, Composite, Unbounded
from torchrl.envs import EnvBase

from segenv.envs.batched import BatchedInteractiveSegEnv
from segenv.errors import ConfigError

__all__ = ["TorchRLInteractiveSegEnv", "make_env"]


class TorchRLInteractiveSegEnv(EnvBase):  # type: ignore[misc]
    """N volumes of the interactive-segmentation MDP as a TorchRL env (see the module docs).

    Args:
        envs: The batched env to wrap, with ``array_type="torch"`` and
            ``autoreset_mode="disabled"`` (TorchRL resets volumes itself; :func:`make_env`
            builds it so).
    """

    def __init__(self, envs: BatchedInteractiveSegEnv) -> None:
        if envs.array_type != "torch" or envs.autoreset_mode is not AutoresetMode.DISABLED:
            raise ConfigError(
                f"the TorchRL env needs a batched env with array_type='torch' and "
                f"autoreset_mode='disabled', got {envs.array_type!r} and "
                f"{envs.autoreset_mode.value!r}; build it with segenv.torchrl.make_env"
            )
        super().__init__(device=envs.device, batch_size=torch.Size([envs.num_envs]))
        self.envs = envs
        self._pending_seed: int | None = None
        n, device = envs.num_envs, envs.device
        # the last dice / num_clicks / step of every volume (a partial reset keeps the others)
        self._values = {
            key: torch.zeros((n, 1), dtype=dtype, device=device)
            for key, dtype in (
                ("dice", torch.float32),
                ("num_clicks", torch.int64),
                ("step", torch.int64),
            )
        }
        view = tuple(envs.single_observation_space.shape or ())
        spatial = view[1:]
        self.spatial_shape = spatial
        self.num_actions = len(envs.config.deltas)
        self.observation_spec = Composite(
            observation=Unbounded(shape=(n, *view), dtype=torch.float32, device=device),
            dice=Unbounded(shape=(n, 1), dtype=torch.float32, device=device),
            num_clicks=Unbounded(shape=(n, 1), dtype=torch.int64, device=device),
            step=Unbounded(shape=(n, 1), dtype=torch.int64, device=device),
            shape=(n,),
            device=device,
        )
        self.action_spec = Categorical(
            self.num_actions, shape=(n, *spatial), dtype=torch.int64, device=device
        )
        self.reward_spec = Unbounded(shape=(n, *spatial, 1), dtype=torch.float32, device=device)
        self.full_done_spec = Composite(
            {
                key: Categorical(2, shape=(n, 1), dtype=torch.bool, device=device)
                for key in ("done", "terminated", "truncated")
            },
            shape=(n,),
            device=device,
        )

    # ------------------------------------------------------------------ EnvBase API
    def _reset(self, tensordict: TensorDictBase | None, **kwargs: Any) -> TensorDictBase:
        n = self.batch_size[0]
        mask = None if tensordict is None else tensordict.get("_reset", None)
        if mask is None or bool(mask.all()):
            seed, self._pending_seed = self._pending_seed, None
            observation, info = self.envs.reset(seed=seed)
            which = np.ones(n, dtype=bool)
        else:
            which = mask.reshape(n).cpu().numpy().astype(bool)
            observation, info = self.envs.reset(options={"reset_mask": which})
        done = torch.zeros((n, 1), dtype=torch.bool, device=self.device)
        return self._output(observation, info, which, done=done, reward=None)

    def _step(self, tensordict: TensorDictBase) -> TensorDictBase:
        observation, _, terminated, truncated, info = self.envs.step(tensordict.get("action"))
        n = self.batch_size[0]
        reward = info["reward_map"].unsqueeze(-1).clone()
        return self._output(
            observation,
            info,
            np.ones(n, dtype=bool),
            done=(terminated | truncated).reshape(n, 1),
            terminated=terminated.reshape(n, 1),
            reward=reward,
        )

    def _set_seed(self, seed: int | None) -> None:
        """Seed the next full reset (volume ``i`` gets ``seed + i``)."""
        self._pending_seed = None if seed is None else int(seed)

    # ------------------------------------------------------------------ extras
    @property
    def probability(self) -> torch.Tensor:
        """The current probability maps ``p``, ``[N, *S]`` (a copy)."""
        return self.envs.probability

    @property
    def labels(self) -> torch.Tensor:
        """The ground truths of the current cases, bool ``[N, *S]`` (a copy)."""
        return self.envs.labels

    def close(self, *, raise_if_closed: bool = True) -> None:
        """Close the batched env (its worker threads) and this env."""
        self.envs.close()
        super().close(raise_if_closed=raise_if_closed)

    def _output(
        self,
        observation: torch.Tensor,
        info: dict[str, Any],
        which: np.ndarray,
        *,
        done: torch.Tensor,
        reward: torch.Tensor | None,
        terminated: torch.Tensor | None = None,
    ) -> TensorDict:
        n, device = self.batch_size[0], self.device
        rows = torch.as_tensor(which, device=device).reshape(n, 1)
        for key, last in self._values.items():  # the info rows of volumes not reset are blank
            fresh = torch.as_tensor(info[key], device=device).reshape(n, 1).to(last.dtype)
            last.copy_(torch.where(rows, fresh, last))
        out = TensorDict(
            {
                "observation": observation.clone(),
                **{key: last.clone() for key, last in self._values.items()},
                "done": done,
                "terminated": done if terminated is None else terminated,
                "truncated": torch.zeros((n, 1), dtype=torch.bool, device=device),
            },
            batch_size=self.batch_size,
            device=device,
        )
        if reward is not None:
            out.set("reward", reward)
        return out


def make_env(
    *,
    num_envs: int = 1,
    device: str | torch.device = "cpu",
    num_threads: int | None = None,
    **env_kwargs: Any,
) -> TorchRLInteractiveSegEnv:
    """``num_envs`` volumes of the env of ``env_kwargs`` as a TorchRL env on ``device``.

    ``env_kwargs`` are the reference env's keyword arguments (``shape=(H, W)`` gives the 2D
    env); they are validated as the Gymnasium env validates them.

    >>> env = make_env(shape=(16, 16), num_cases=2, num_envs=2)
    >>> env.rollout(5)["next", "reward"].shape
    torch.Size([2, 5, 16, 16, 1])
    """
    envs = BatchedInteractiveSegEnv(
        num_envs,
        device=device,
        num_threads=num_threads,
        array_type="torch",
        autoreset_mode=AutoresetMode.DISABLED,
        **env_kwargs,
    )
    return TorchRLInteractiveSegEnv(envs)
