"""BatchedInteractiveSegEnv: N volumes of the MDP stepped at once as torch tensors (CPU or CUDA).

The native ``vector_entry_point`` of ``InteractiveSeg3D-v0`` / ``InteractiveSeg2D-v0``::

    envs = gym.make_vec("InteractiveSeg3D-v0", num_envs=32, vectorization_mode="vector_entry_point")

The state lives in batch buffers ``(N, ...)`` allocated once. On a GPU the dense per-voxel math
(action update, cross-entropy, every reward design, Dice) runs as batched torch ops on the
device. On a CPU it runs per volume (:mod:`segenv.envs._volume_update`: numba kernels and the
reference env's own numpy functions) on a small thread pool, in the numpy arrays that the torch
outputs are views of. The inherently sequential per-volume work (case and ``p(0)`` at reset,
the simulated user's clicks, the hint encodings) is the episode code of every env face
(:mod:`segenv.envs.episode`), run on the same thread pool, one volume per task, never a loop
over voxels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from segenv.devices import resolve_device, resolve_threads
from segenv.envs._torch_rewards import TorchRewardInputs, torch_reward_for
from segenv.envs._torch_rewards import cross_entropy as torch_cross_entropy
from segenv.envs._volume_update import indices_in_range, update_volume
from segenv.envs._workers import VolumeWorkers
from segenv.envs.config import EnvConfig, EnvSettings
from segenv.envs.episode import (
    EncoderCache,
    EpisodeStart,
    HintUpdate,
    PendingConfidence,
    VolumeEpisode,
    apply_hint_update,
    check_reset_options,
    episode_frame,
    episode_info,
    interact,
    pick_case,
    start_episode,
)
from segenv.errors import ConfigError, EnvStateError, InputTypeError, describe
from segenv.interaction import Clicks
from segenv.metrics import dice
from segenv.rewards import RewardInputs, compute_reward
from segenv.validation import check_choice, check_count

__all__ = ["ARRAY_TYPES", "BatchedInteractiveSegEnv"]

ARRAY_TYPES = ("torch", "numpy")
BatchedConfidenceFn = Callable[[Any, Any], Any]
_RESET_OPTIONS = ("case_index", "reset_mask")


class BatchedInteractiveSegEnv(EnvSettings, VectorEnv):  # type: ignore[type-arg]
    r"""N independent interactive-segmentation episodes stepped together as torch tensors.

    ## Description
    The same MDP as :class:`~segenv.envs.interactive_seg.InteractiveSegEnv` (same arguments,
    same semantics), for ``num_envs`` volumes at once. Sub-env ``i`` owns a generator seeded
    exactly like the reference env's ``np_random``, so ``reset(seed=s)`` reproduces reference
    envs reset with seeds ``s, s+1, ..., s+N-1`` (Gymnasium's ``SyncVectorEnv`` convention):
    observations, clicks and Dice are identical; on a CPU rewards and reward maps are too,
    on a GPU they agree up to float rounding (torch's ``log`` is not numpy's, bit for bit).

    ## Arrays
    ``array_type="torch"`` (default): observations ``float32 (N, C, D, H, W)`` (2D:
    ``(N, C, H, W)``), rewards ``float32 (N,)``, terminations / truncations ``bool (N,)``, and
    the ``reward_map`` / ``gain_map`` infos ``(N, D, H, W)``, all torch tensors on ``device``:
    a learner's loop never leaves the device. The observation (and the ``reward_map`` /
    ``gain_map`` infos) are views of buffers that the next step overwrites (Isaac Gym's
    convention: no allocation per step); copy what you keep, e.g. ``buffer[t] = obs``, or pass
    ``copy=True``. ``array_type="numpy"``: fresh numpy arrays with float64 rewards, as
    ``make_vec(..., vectorization_mode="sync")`` returns them. Actions may be a
    torch integer tensor on ``device`` or any integer numpy array, shape ``(N, D, H, W)``.

    ## Speed
    A step is mostly per-volume host work (clicks: connected components; hints: the geodesic
    raster scan; ``p(0)`` at reset), which runs on ``num_threads`` threads, one volume per
    task: its numba kernels, numpy and scipy release the GIL. On a CPU the dense math runs on
    the same threads, one fused pass per volume, in the numpy arrays behind the torch outputs
    (no copies). Each task touches only its own volume (generator, episode, rows of the
    buffers), so results do not depend on ``num_threads``. Without augmentation the episodes
    on one case share its geodesic edge costs, computed once per case (at most ``num_envs``
    cases kept) instead of at every reset. What does not run in parallel is the Python around
    the kernels; ``benchmarks/vector_speed.py`` measures the speed-up over the reference env.
    On a GPU the dense math is batched torch on the device and the host work as above.

    ## Info
    Gymnasium's vector layout (a ``_key`` mask beside each key): ``dice`` float64 ``(N,)``,
    ``num_clicks``, ``step`` int64 ``(N,)``, ``case`` and ``clicks`` object arrays (a
    :class:`~segenv.envs.episode.ClickInfo` per sub-env), and after a step
    ``reward_map`` and ``gain_map`` as batched tensors (or arrays).

    ## Autoreset
    ``autoreset_mode`` (``metadata["autoreset_mode"]``) follows Gymnasium's
    :class:`~gymnasium.vector.AutoresetMode`. ``NEXT_STEP`` (default): the step after a
    sub-env's last one resets it and ignores its action; it returns the reset observation and
    info with reward 0 and ``terminated = truncated = False``. ``SAME_STEP``: a sub-env that
    ends is reset in the same step; its last observation and info are in
    ``info["final_obs"]`` / ``info["final_info"]`` (masks ``_final_obs`` / ``_final_info``).
    ``DISABLED``: stepping an ended sub-env raises; reset it with
    ``reset(options={"reset_mask": mask})``.

    ## Reset options
    ``case_index`` (an int for every sub-env, or a sequence of N ints) and ``reset_mask``
    (bool numpy ``(N,)``: reset only those sub-envs).

    ## Arguments
    ``num_envs``; ``device`` (``"cpu"``, ``"cuda"``, ``"auto"``, ...:
    :func:`segenv.devices.resolve_device`); ``array_type``; ``copy``;
    ``autoreset_mode``; ``num_threads`` (threads for the per-volume work, the caller's
    included; None or 0: one per available core, :func:`segenv.devices.resolve_threads`; 1: no
    threads, e.g. for a user simulator, hint encoder, initialiser or reward design of your own
    that is not thread-safe);
    ``validate_actions`` (check the action range of the whole batch before anything changes;
    on a GPU one device sync; default True; when False a CPU checks each volume in its
    per-volume pass instead, so that no kernel ever indexes outside the action set);
    ``render_mode`` (None or ``"rgb_array"``: a tuple of slice montages); every other keyword
    is the reference env's (checked by :meth:`segenv.envs.config.EnvConfig.from_kwargs`).
    ``confidence=`` here takes the batch:
    ``fn(observations (N, C, ...), actions (N, ...)) -> (N, ...)`` on the env's arrays.

    ## Example
    >>> import gymnasium as gym, segenv, torch
    >>> envs = gym.make_vec("InteractiveSeg2D-v0", num_envs=4,
    ...                     vectorization_mode="vector_entry_point", num_cases=4)
    >>> obs, info = envs.reset(seed=0)
    >>> actions = torch.randint(0, 6, (4, 64, 64))
    >>> obs, rewards, terminated, truncated, info = envs.step(actions)
    """

    metadata: ClassVar[dict[str, Any]] = {  # type: ignore[misc]
        "autoreset_mode": AutoresetMode.NEXT_STEP,
        "render_modes": ["rgb_array"],
    }

    def __init__(
        self,
        num_envs: int = 1,
        *,
        device: str | torch.device = "cpu",
        array_type: str = "torch",
        copy: bool = False,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        num_threads: int | None = None,
        validate_actions: bool = True,
        render_mode: str | None = None,
        confidence: BatchedConfidenceFn | None = None,
        **env_kwargs: Any,
    ) -> None:
        """Build N sub-envs of the reference env's arguments ``env_kwargs`` on ``device``."""
        self.num_envs = check_count("num_envs=", num_envs, minimum=1)
        self.array_type = check_choice("array_type", array_type, ARRAY_TYPES)
        if render_mode not in (None, "rgb_array"):
            raise ConfigError(
                f"render_mode={render_mode!r} is not supported by the batched env; use None "
                "or 'rgb_array' (a tuple of montages), or a single env for 'human'"
            )
        self.device = resolve_device(device)
        self.copy = bool(copy) or array_type == "numpy"
        self.autoreset_mode = _resolve_autoreset_mode(autoreset_mode)
        metadata = {**type(self).metadata, "autoreset_mode": self.autoreset_mode}
        self.metadata = metadata  # type: ignore[misc]
        self.validate_actions = bool(validate_actions)
        self.render_mode = render_mode
        self._workers = VolumeWorkers(resolve_threads(num_threads, "num_threads"))

        config = EnvConfig.from_kwargs(confidence=confidence, render_mode=render_mode, **env_kwargs)
        self.config = config
        # the episodes on one case share its geodesic edge costs (never more cases than envs)
        self._encoders = (
            EncoderCache(config, self.num_envs) if EncoderCache.applies(config) else None
        )
        self._confidence = PendingConfidence(config.confidence_fn, self._as_confidence)
        self._torch_reward = torch_reward_for(config.reward_design, config.reward_kwargs)
        self._host_deltas = np.ascontiguousarray(config.deltas, dtype=np.float32)
        self._deltas = torch.as_tensor(self._host_deltas, device=self.device)
        self.single_observation_space = config.observation_space()
        self.single_action_space = config.action_space()
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)

        n = self.num_envs
        self._on_host = self.device.type == "cpu"
        self._rngs: list[np.random.Generator | None] = [None] * n
        self._episodes: list[VolumeEpisode | None] = [None] * n
        self._steps = np.zeros(n, dtype=np.int64)
        self._ended = np.zeros(n, dtype=bool)
        self._dice = np.zeros(n, dtype=np.float64)
        self._started = False
        self._buffers = _Buffers.allocate(
            n, config.volume_shape, config.num_modalities, self.device, config.step_channel
        )

    @property
    def num_threads(self) -> int:
        """Threads that run the per-volume work, the caller's included."""
        return self._workers.num_threads

    # ------------------------------------------------------------------ gym API
    def reset(
        self,
        *,
        seed: int | Sequence[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[Any, dict[str, Any]]:
        """Reset every sub-env (or those of ``options["reset_mask"]``); see the class docs."""
        seeds = self._expand_seeds(seed)
        mask, case_indices = self._parse_options(options or {})
        for i in np.flatnonzero(mask):
            if seeds[i] is not None or self._rngs[i] is None:
                self._rngs[i] = seeding.np_random(seeds[i])[0]
        self._start_volumes(mask, case_indices)
        self._started = True
        self._confidence.clear()
        return self._export(self._observation()), self._info(mask)

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        """Step every sub-env with its joint action ``actions[i]`` (autoreset per the mode)."""
        if not self._started:
            raise EnvStateError("step() called before reset(); call envs.reset() first")
        if self.autoreset_mode is AutoresetMode.DISABLED and self._ended.any():
            raise EnvStateError(
                f"sub-env(s) {np.flatnonzero(self._ended).tolist()} ended and autoreset_mode "
                "is DISABLED; reset them first with "
                "envs.reset(options={'reset_mask': mask}) or reset all with envs.reset()"
            )
        action = self._as_actions(actions)
        resetting = self._ended.copy()  # non-empty only in NEXT_STEP mode
        stepping = ~resetting
        confidence = self._confidence.take(self._observation, self._view(action))
        if confidence is None and self.config.reward_traits.needs_confidence:
            raise ConfigError(
                f"reward design {_name(self.reward_design)} needs the learner's action-confidence "
                "map: pass confidence=callable(observations, actions) -> (N, D, H, W) to the "
                "batched env, "
                "or call env.set_confidence(maps) before each step"
            )
        if self._on_host:
            reward_map, gain, rewards = self._dense_step_on_host(action, confidence, stepping)
        else:
            reward_map, gain, rewards = self._dense_step_on_device(action, confidence, resetting)
        self._steps[stepping] += 1
        self._write_step_channel(stepping)
        self._interact(stepping, confidence)
        terminated = stepping & (self._steps >= self.max_steps)
        self._ended = terminated.copy()
        info = self._info(stepping)
        info["reward_map"], info["_reward_map"] = self._export(self._view(reward_map)), stepping
        info["gain_map"], info["_gain_map"] = self._export(self._view(gain)), stepping.copy()
        if resetting.any():
            info = self._autoreset(resetting, info)
        if self.autoreset_mode is AutoresetMode.SAME_STEP and terminated.any():
            info = self._reset_same_step(terminated, info)
        return self._step_result(rewards, terminated, info)

    def render(self) -> tuple[np.ndarray, ...] | None:
        """``rgb_array``: one slice montage per sub-env (None before reset or without a mode)."""
        if self.render_mode is None or not self._started:
            return None
        buffers = self._buffers
        probability = buffers.probability.cpu().numpy()
        hint_pos, hint_neg = buffers.hint_pos.cpu().numpy(), buffers.hint_neg.cpu().numpy()
        return tuple(
            episode_frame(
                self._episode(i), probability[i], hint_pos[i], hint_neg[i], show_dice=False
            )
            for i in range(self.num_envs)
        )

    def close_extras(self, **kwargs: Any) -> None:
        """Stop the worker threads."""
        self._workers.close()

    # ------------------------------------------------------------ extra API
    def set_confidence(self, confidence: Any) -> None:
        """Give the learner's action confidence ``(N, D, H, W)`` in [0, 1] for the next step."""
        self._confidence.give(confidence, "set_confidence(maps)")

    @property
    def probability(self) -> torch.Tensor:
        """The current probability maps ``p``, ``(N, D, H, W)`` (a copy, on ``device``)."""
        return self._view(self._buffers.probability).clone()

    @property
    def labels(self) -> torch.Tensor:
        """The ground truths of the current cases, bool ``(N, D, H, W)`` (a copy, on ``device``)."""
        return self._view(self._buffers.label).clone()

    @property
    def deltas(self) -> torch.Tensor:
        """The action set ``(K,)`` (a copy, on ``device``)."""
        return self._deltas.clone()

    @property
    def clicks(self) -> list[Clicks | None]:
        """Each sub-env's clicks so far (None before its first reset)."""
        return [None if e is None else e.clicks for e in self._episodes]

    # ------------------------------------------------------- internals: input
    def _expand_seeds(self, seed: int | Sequence[int | None] | None) -> list[int | None]:
        n = self.num_envs
        if seed is None:
            return [None] * n
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            return [int(seed) + i for i in range(n)]
        if isinstance(seed, Sequence) and not isinstance(seed, str) and len(seed) == n:
            return list(seed)
        raise ConfigError(
            f"seed={seed!r} must be None, an int (sub-env i gets seed + i) or a sequence of "
            f"num_envs={n} ints / Nones"
        )

    def _parse_options(self, options: dict[str, Any]) -> tuple[np.ndarray, list[int | None]]:
        check_reset_options(options, _RESET_OPTIONS)
        n = self.num_envs
        mask = options.get("reset_mask")
        if mask is None:
            mask = np.ones(n, dtype=bool)
        elif not isinstance(mask, np.ndarray) or mask.dtype != bool or mask.shape != (n,):
            raise ConfigError(
                f"options['reset_mask'] must be a bool numpy array of shape ({n},), got "
                f"{describe(mask)}"
            )
        elif not self._started and not mask.all():
            raise EnvStateError(
                "the first reset must reset every sub-env; leave options['reset_mask'] out"
            )
        index = options.get("case_index")
        if index is None or isinstance(index, (int, np.integer)):
            return mask, [None if index is None else int(index)] * n
        if isinstance(index, Sequence) and len(index) == n:
            return mask, list(index)
        raise ConfigError(
            f"options['case_index']={index!r} must be an int (every sub-env) or a sequence of "
            f"num_envs={n} ints"
        )

    def _as_actions(self, actions: Any) -> torch.Tensor:
        expected = (self.num_envs, *self.view_shape)
        if isinstance(actions, torch.Tensor):
            if actions.device != self.device:
                raise InputTypeError(
                    f"actions are on device {actions.device} but this env runs on "
                    f"{self.device}; move them with actions.to(envs.device)"
                )
            if actions.dtype == torch.bool or actions.is_floating_point() or actions.is_complex():
                raise InputTypeError(
                    "actions must be an integer tensor of indices into the action set, got "
                    f"dtype {actions.dtype}"
                )
            tensor = actions
        else:
            array = np.asarray(actions)
            if array.dtype.kind not in "iu":
                raise InputTypeError(
                    "actions must hold integer indices into the action set, got "
                    f"{describe(actions)}"
                )
            tensor = torch.as_tensor(array, device=self.device)
        if tensor.ndim == 0 or tensor.shape[0] != self.num_envs:
            batch = tensor.shape[0] if tensor.ndim else "no batch axis"
            raise ConfigError(
                f"actions have shape {tuple(tensor.shape)} (batch: {batch}) but this env has "
                f"num_envs={self.num_envs}; pass one joint action per sub-env, shape {expected}"
            )
        if tuple(tensor.shape) != expected:
            raise ConfigError(
                f"actions have shape {tuple(tensor.shape)}, expected {expected} (one action "
                "index per voxel of each sub-env); sample with envs.action_space.sample()"
            )
        action = tensor.reshape(self.num_envs, *self.volume_shape).long().contiguous()
        if self.validate_actions:
            self._check_action_range(action)
        return action

    def _check_action_range(self, action: torch.Tensor) -> None:
        if self._on_host and indices_in_range(action.numpy(), len(self._host_deltas)):
            return  # one numba pass; a device checks with aminmax (one sync)
        low, high = (int(v) for v in torch.aminmax(action))
        if low < 0 or high >= len(self._deltas):
            raise ConfigError(
                f"action indices must lie in [0, {len(self._deltas)}) for this action set, "
                f"got values in [{low}, {high}]"
            )

    def _as_confidence(self, confidence: Any, what: str) -> torch.Tensor:
        expected = (self.num_envs, *self.view_shape)
        tensor = torch.as_tensor(confidence, device=self.device).to(torch.float32, copy=True)
        if tuple(tensor.shape) != expected:
            raise ConfigError(f"{what} has shape {tuple(tensor.shape)}, expected {expected}")
        if not bool(torch.isfinite(tensor).all()):
            raise ConfigError(f"{what} contains NaN/Inf; confidences must be finite")
        low, high = (float(v) for v in torch.aminmax(tensor))
        if low < 0 or high > 1:
            raise ConfigError(f"{what} has values in [{low}, {high}]; they must lie in [0, 1]")
        return tensor.reshape(self.num_envs, *self.volume_shape)

    # ------------------------------------------------------ internals: the MDP
    def _start_volumes(self, mask: np.ndarray, case_indices: Sequence[int | None]) -> None:
        """Reset the sub-envs of ``mask``: cases picked here in order, the rest on the workers.

        Case sources need not be thread-safe (a cache, a file reader), so only the generator's
        first draw (the case) happens on this thread; augmentation, ``p(0)``, the hint encoder's
        edge costs and the initial clicks run per volume on the workers.
        """
        indices = [int(i) for i in np.flatnonzero(mask)]
        cases = {i: pick_case(self.config, self._generator(i), case_indices[i]) for i in indices}
        started: dict[int, EpisodeStart] = {}

        def start(i: int) -> None:
            result = start_episode(self.config, self._generator(i), cases[i], self._encoders)
            if self._on_host:
                self._write_start(i, result)
            else:  # device tensors are written from this thread only
                started[i] = result

        self._workers.run(start, indices)
        for i in indices if not self._on_host else ():
            self._write_start(i, started[i])

    def _write_start(self, i: int, start: EpisodeStart) -> None:
        """Sub-env ``i``'s new episode into the buffers: ``p(0)``, label, image, hints, Dice."""
        episode, probability, buffers = start.episode, start.probability, self._buffers
        case = episode.case
        self._episodes[i] = episode
        self._steps[i] = 0
        self._ended[i] = False
        if self.config.step_channel:  # t / T = 0 at reset
            buffers.observation[i, -1].zero_()
        prediction = probability >= 0.5
        self._put(buffers.probability[i], probability)
        self._put(buffers.label[i], case.label)
        self._put(buffers.label_size[i], np.asarray(np.count_nonzero(case.label)))
        self._put(buffers.observation[i, : self.num_modalities], case.image)
        self._put(buffers.ce[i], start.cross_entropy)
        self._zero(buffers.hint_pos[i])
        self._zero(buffers.hint_neg[i])
        if start.hints is not None:
            self._apply_hint_update(i, start.hints)
        self._write_probability_channel(i, probability, prediction)
        self._dice[i] = dice(prediction, case.label)

    def _dense_step_on_host(
        self, action: torch.Tensor, confidence: torch.Tensor | None, stepping: np.ndarray
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Eq 2, the cross-entropies, the reward maps and rewards, per volume on the workers.

        Until every action is known to be valid only the spare and scratch buffers are
        written; then the spare buffers become the current ones. Returns the reward maps, the
        gains and the rewards (float64), as torch views of the host arrays.
        """
        buffers, n = self._buffers, self.num_envs
        previous, current = buffers.probability.numpy(), buffers.spare_probability.numpy()
        ce_previous, ce_current = buffers.ce.numpy(), buffers.spare_ce.numpy()
        gain, label = buffers.gain.numpy(), buffers.label.numpy()
        prediction, actions = buffers.prediction.numpy(), action.contiguous().numpy()
        confidences = None if confidence is None else confidence.numpy()
        relative = self.config.reward_traits.is_gain  # its reward map is the gain itself
        reward_buffer = buffers.gain if relative else buffers.reward
        reward_map = reward_buffer.numpy()
        rewards = np.zeros(n, dtype=np.float64)
        counts = np.zeros((n, 2), dtype=np.int64)
        invalid = np.zeros(n, dtype=bool)

        def update(i: int) -> None:
            if not stepping[i]:  # a sub-env being reset: its ignored action earns nothing
                gain[i].fill(0.0)
                reward_map[i].fill(0.0)
                return
            result = update_volume(
                previous[i],
                actions[i],
                self._host_deltas,
                label[i],
                self.eps,
                current=current[i],
                ce_previous=ce_previous[i],
                ce_current=ce_current[i],
                gain=gain[i],
                prediction=prediction[i],
                in_range=self.validate_actions,  # then _as_actions checked the whole batch
            )
            if result is None:
                invalid[i] = True
            else:
                counts[i] = result
                if not relative:
                    inputs = RewardInputs(
                        previous=previous[i],
                        current=current[i],
                        label=label[i],
                        ce_previous=ce_previous[i],
                        ce_current=ce_current[i],
                        confidence=None if confidences is None else confidences[i],
                        eps=self.eps,
                    )
                    design = compute_reward(self.reward_design, inputs, **self.reward_kwargs)
                    np.copyto(reward_map[i], design)
                rewards[i] = reward_map[i].mean(dtype=np.float64)  # as the reference env

        self._workers.run(update, range(n))
        if invalid.any():  # only with validate_actions=False: the kernels never index outside
            self._check_action_range(action)  # raises, naming the range
        buffers.swap()
        predicted, overlap = counts.T
        total = predicted + buffers.label_size.numpy()
        ratio = 2.0 * overlap / np.maximum(total, 1)
        self._dice[stepping] = np.where(total == 0, 1.0, ratio)[stepping]
        return reward_buffer, buffers.gain, torch.from_numpy(rewards)

    def _dense_step_on_device(
        self, action: torch.Tensor, confidence: torch.Tensor | None, resetting: np.ndarray
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The dense step as batched torch ops on the device; returns maps, gains, rewards."""
        inputs = self._apply_actions(action, confidence)
        reward_map = self._reward_map(inputs)
        if resetting.any():  # the ignored actions of sub-envs being reset earn nothing
            rows = self._index(resetting)
            reward_map.index_fill_(0, rows, 0.0)
            inputs.gain.index_fill_(0, rows, 0.0)
        rewards = torch.mean(reward_map, dim=(1, 2, 3), dtype=torch.float64)
        self._dice[:] = self._batch_dice()
        buffers = self._buffers
        channel = buffers.observation[:, self.num_modalities]
        if self.state == "binary":
            torch.ge(buffers.probability, 0.5, out=buffers.prediction)
            channel.copy_(buffers.prediction)
        else:
            channel.copy_(buffers.probability)
        return reward_map, inputs.gain, rewards

    def _apply_actions(
        self, action: torch.Tensor, confidence: torch.Tensor | None
    ) -> TorchRewardInputs:
        """Eq 2 and the cross-entropies, written into the spare buffers, which become current."""
        buffers = self._buffers
        previous, ce_previous = buffers.probability, buffers.ce
        current, ce_current = buffers.spare_probability, buffers.spare_ce
        torch.take(self._deltas, action, out=buffers.delta)
        torch.add(previous, buffers.delta, out=current).clamp_(0.0, 1.0)
        torch_cross_entropy(current, buffers.label, self.eps, out=ce_current)
        torch.sub(ce_previous, ce_current, out=buffers.gain)
        buffers.swap()
        return TorchRewardInputs(
            previous=previous,
            current=current,
            label=buffers.label,
            ce_previous=ce_previous,
            ce_current=ce_current,
            gain=buffers.gain,
            confidence=confidence,
            eps=self.eps,
        )

    def _reward_map(self, inputs: TorchRewardInputs) -> torch.Tensor:
        """The reward design on the device batch: its torch twin, or per volume on numpy."""
        if self._torch_reward is not None:
            reward_map = self._torch_reward(inputs, **self.reward_kwargs)
            return reward_map.to(torch.float32)
        host = {
            name: None if value is None else value.cpu().numpy()
            for name, value in (
                ("previous", inputs.previous),
                ("current", inputs.current),
                ("ce_previous", inputs.ce_previous),
                ("ce_current", inputs.ce_current),
                ("confidence", inputs.confidence),
            )
        }
        maps = []
        for i in range(self.num_envs):
            per_volume = RewardInputs(
                label=self._episode(i).case.label,
                eps=self.eps,
                **{k: None if v is None else v[i] for k, v in host.items()},  # type: ignore[arg-type]
            )
            maps.append(compute_reward(self.reward_design, per_volume, **self.reward_kwargs))
        return torch.from_numpy(np.stack(maps)).to(self.device)

    def _interact(self, stepping: np.ndarray, confidence: torch.Tensor | None) -> None:
        """The simulated user of every stepping sub-env clicks; the hints are updated."""
        buffers = self._buffers
        if not self._on_host:
            torch.ge(buffers.probability, 0.5, out=buffers.prediction)
        # on a CPU: views (the host pass wrote the prediction); on a GPU: one copy each
        prediction = buffers.prediction.cpu().numpy()
        probability = buffers.probability.cpu().numpy()
        confidences = None if confidence is None else confidence.cpu().numpy()
        updates: dict[int, HintUpdate] = {}

        def click(i: int) -> None:
            episode = self._episode(i)
            episode.step = int(self._steps[i])
            update = interact(
                self.config,
                episode,
                probability[i],
                prediction[i],
                self.clicks_per_step,
                None if confidences is None else confidences[i],
                self._generator(i),
            )
            if not self._on_host:  # device tensors are written from this thread only
                if update is not None:
                    updates[i] = update
                return
            if update is not None:
                self._apply_hint_update(i, update)
            self._write_probability_channel(i, probability[i], prediction[i])

        self._workers.run(click, np.flatnonzero(stepping))
        for i, update in updates.items():
            self._apply_hint_update(i, update)

    def _apply_hint_update(self, i: int, update: HintUpdate) -> None:
        """Merge (``max``) or replace sub-env ``i``'s hint maps, in place."""
        buffers = self._buffers
        if self._on_host:  # numpy views of the rows: the episode's own update
            apply_hint_update(buffers.hint_pos[i].numpy(), buffers.hint_neg[i].numpy(), update)
            return
        pairs = ((buffers.hint_pos, update.positive), (buffers.hint_neg, update.negative))
        for hints, new in pairs:
            row = hints[i]
            if new is None:
                if update.replace:
                    row.zero_()
            elif update.replace:
                row.copy_(torch.from_numpy(np.require(new, requirements="W")))
            else:
                upload = torch.from_numpy(np.require(new, requirements="W")).to(self.device)
                torch.maximum(row, upload, out=row)

    def _write_probability_channel(
        self, i: int, probability: np.ndarray, prediction: np.ndarray
    ) -> None:
        """Sub-env ``i``'s ``p`` (or ``p >= 0.5``) into its observation."""
        value = prediction if self.state == "binary" else probability
        self._put(self._buffers.observation[i, self.num_modalities], value)

    def _write_step_channel(self, mask: np.ndarray) -> None:
        """With ``step_channel``: ``t / T`` into the last channel of the sub-envs in ``mask``."""
        if not self.config.step_channel or not mask.any():
            return
        fraction = torch.as_tensor(self._steps / self.max_steps, dtype=torch.float32)
        rows = torch.as_tensor(np.flatnonzero(mask))
        self._buffers.observation[rows.to(self.device), -1] = (
            fraction[rows].to(self.device).reshape(-1, *[1] * 3)
        )

    def _observation(self) -> torch.Tensor:
        """The observation buffer (kept current by every write of ``p`` and the hints)."""
        return self._view(self._buffers.observation)

    def _batch_dice(self) -> np.ndarray:
        buffers = self._buffers
        torch.ge(buffers.probability, 0.5, out=buffers.prediction)
        torch.logical_and(buffers.prediction, buffers.label, out=buffers.overlap)
        overlap, predicted = (_count_true(flags) for flags in (buffers.overlap, buffers.prediction))
        total = predicted + buffers.label_size
        ratio = 2.0 * overlap.double() / total.clamp(min=1).double()
        return torch.where(total == 0, 1.0, ratio).cpu().numpy()

    def _info(self, mask: np.ndarray) -> dict[str, Any]:
        """Vector-layout info of the sub-envs in ``mask`` (others: default values, mask False)."""
        n = self.num_envs
        columns = {
            "dice": np.zeros(n, dtype=np.float64),
            "clicks": np.full(n, None, dtype=object),
            "num_clicks": np.zeros(n, dtype=np.int64),
            "step": np.zeros(n, dtype=np.int64),
            "case": np.full(n, None, dtype=object),
        }
        for i in np.flatnonzero(mask):
            for key, value in episode_info(self._episode(int(i)), self._dice[i]).items():
                columns[key][i] = value
        info: dict[str, Any] = {}
        for key, value in columns.items():
            info[key] = value
            info[f"_{key}"] = mask.copy()
        return info

    def _autoreset(self, which: np.ndarray, info: dict[str, Any]) -> dict[str, Any]:
        """Reset the sub-envs in ``which`` (their generators continue); merge their info."""
        self._start_volumes(which, [None] * self.num_envs)
        reset_info = self._info(which)
        for key in ("dice", "clicks", "num_clicks", "step", "case"):
            info[key] = np.where(which, reset_info[key], info[key])
            info[f"_{key}"] = info[f"_{key}"] | which
        return info

    def _reset_same_step(self, ended: np.ndarray, info: dict[str, Any]) -> dict[str, Any]:
        """SAME_STEP: keep the ended sub-envs' last obs and info aside, then reset them."""
        final_info = {
            key: (value & ended) if key.startswith("_") else value for key, value in info.items()
        }
        final_obs = self._observation().clone()
        for key in ("reward_map", "gain_map"):
            info[f"_{key}"] = info[f"_{key}"] & ~ended
        info = self._autoreset(ended, info)
        info["final_obs"], info["_final_obs"] = self._export(final_obs, copy=False), ended.copy()
        info["final_info"], info["_final_info"] = final_info, ended.copy()
        self._ended[ended] = False
        return info

    def _step_result(
        self, rewards: torch.Tensor, terminated: np.ndarray, info: dict[str, Any]
    ) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        observation = self._export(self._observation())
        truncated = np.zeros(self.num_envs, dtype=bool)
        if self.array_type == "numpy":
            return observation, rewards.cpu().numpy(), terminated, truncated, info
        return (
            observation,
            rewards.to(torch.float32),
            self._as_device(terminated),
            self._as_device(truncated),
            info,
        )

    # ------------------------------------------------------ internals: arrays
    def _episode(self, i: int) -> VolumeEpisode:
        episode = self._episodes[i]
        if episode is None:  # pragma: no cover - reset() starts every volume
            raise EnvStateError(f"sub-env {i} has no episode; call envs.reset() first")
        return episode

    def _generator(self, i: int) -> np.random.Generator:
        rng = self._rngs[i]
        if rng is None:  # pragma: no cover - reset() seeds first
            raise EnvStateError(f"sub-env {i} has no generator; call envs.reset() first")
        return rng

    def _put(self, row: torch.Tensor, values: np.ndarray) -> None:
        """Write host ``values`` into a buffer row.

        On a CPU through numpy: no torch op runs on a worker thread, so torch's own thread
        pool never competes with the workers.
        """
        if self._on_host:
            np.copyto(row.numpy(), values)
        else:
            row.copy_(torch.from_numpy(np.require(values, requirements="W")))

    def _zero(self, row: torch.Tensor) -> None:
        if self._on_host:
            row.numpy().fill(0)
        else:
            row.zero_()

    def _as_device(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array).to(self.device)

    def _index(self, mask: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.flatnonzero(mask)).to(self.device)

    def _export(self, tensor: torch.Tensor, *, copy: bool | None = None) -> Any:
        """An output array: a copy unless ``copy`` is off, numpy in numpy mode."""
        if self.copy if copy is None else copy:
            tensor = tensor.clone()
        return tensor.cpu().numpy() if self.array_type == "numpy" else tensor

    def _view(self, volume: torch.Tensor) -> torch.Tensor:
        """``(N, D, ...)`` → the observation layout: ``(N, H, W)`` for a 2D env."""
        if not self.is_2d:
            return volume
        return volume[:, :, 0] if volume.ndim == 5 else volume[:, 0]


@dataclass
class _Buffers:
    """The batched state and scratch tensors, allocated once.

    Large CPU allocations cost page faults on every step (and GPU ones allocator calls), so the
    step writes into these in place. The hint maps are the observation's hint channels (views),
    so assembling an observation copies nothing.
    """

    probability: torch.Tensor  # float32 (N, D, H, W)
    spare_probability: torch.Tensor
    ce: torch.Tensor
    spare_ce: torch.Tensor
    gain: torch.Tensor
    reward: torch.Tensor  # the reward maps of a design other than "relative" (whose is gain)
    delta: torch.Tensor
    label: torch.Tensor  # bool (N, D, H, W)
    prediction: torch.Tensor
    overlap: torch.Tensor
    label_size: torch.Tensor  # int64 (N,)
    observation: torch.Tensor  # float32 (N, C, D, H, W): image, p, hint+, hint-[, t / T]
    hint_pos: torch.Tensor  # observation[:, M + 1]
    hint_neg: torch.Tensor  # observation[:, M + 2]

    @classmethod
    def allocate(
        cls,
        n: int,
        shape: tuple[int, int, int],
        modalities: int,
        device: torch.device,
        step_channel: bool = False,
    ) -> _Buffers:
        """Zero-filled buffers for ``n`` volumes of ``shape``."""

        def floats() -> torch.Tensor:
            return torch.zeros((n, *shape), dtype=torch.float32, device=device)

        def flags() -> torch.Tensor:
            return torch.zeros((n, *shape), dtype=torch.bool, device=device)

        channels = modalities + 3 + int(step_channel)
        observation = torch.zeros((n, channels, *shape), dtype=torch.float32, device=device)
        return cls(
            probability=floats(),
            spare_probability=floats(),
            ce=floats(),
            spare_ce=floats(),
            gain=floats(),
            reward=floats(),
            delta=floats(),
            label=flags(),
            prediction=flags(),
            overlap=flags(),
            label_size=torch.zeros(n, dtype=torch.int64, device=device),
            observation=observation,
            hint_pos=observation[:, modalities + 1],
            hint_neg=observation[:, modalities + 2],
        )

    def swap(self) -> None:
        """The spare probability / cross-entropy buffers become the current ones."""
        self.probability, self.spare_probability = self.spare_probability, self.probability
        self.ce, self.spare_ce = self.spare_ce, self.ce


def _count_true(flags: torch.Tensor) -> torch.Tensor:
    """Per-volume count of the True voxels of a bool ``(N, ...)`` tensor (int64 ``(N,)``)."""
    as_bytes = flags.view(torch.uint8).reshape(flags.shape[0], -1)
    return as_bytes.sum(dim=1, dtype=torch.int32).to(torch.int64)


def _name(design: Any) -> str:
    return repr(getattr(design, "__name__", design))


def _resolve_autoreset_mode(mode: AutoresetMode | str) -> AutoresetMode:
    if isinstance(mode, AutoresetMode):
        return mode
    try:
        return AutoresetMode(mode)
    except ValueError:
        names = [m.value for m in AutoresetMode]
        raise ConfigError(
            f"autoreset_mode={mode!r} is unknown; use a gymnasium.vector.AutoresetMode or one "
            f"of {names}"
        ) from None
