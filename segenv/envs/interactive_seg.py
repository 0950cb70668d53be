"""InteractiveSeg3D-v0 / InteractiveSeg2D-v0: interactive segmentation as a voxel-agent MDP."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from segenv.actions import validate_action
from segenv.data.case import DEFAULT_SHAPE, Case, CaseSource
from segenv.envs import episode
from segenv.envs.config import RENDER_MODES, STATES, ConfidenceFn, EnvConfig, EnvSettings
from segenv.envs.episode import ClickInfo, PendingConfidence, VolumeEpisode
from segenv.errors import EnvStateError
from segenv.hints import HintEncoder
from segenv.initialisers import validate_probability
from segenv.interaction import Clicks
from segenv.metrics import dice
from segenv.rewards import DEFAULT_EPS

__all__ = ["DEFAULT_SHAPE", "STATES", "ClickInfo", "ConfidenceFn", "InteractiveSegEnv"]


class InteractiveSegEnv(EnvSettings, gym.Env[np.ndarray, np.ndarray]):
    r"""Interactive 3D (or 2D) medical image segmentation in which every voxel is an agent.

    ## Description
    An image ``x`` with a binary ground truth ``y`` and a segmentation probability ``p`` that is
    refined over ``max_steps`` steps (IteR-MRL, CVPR 2020; MECCA, FITEE 2023). At each step
    every voxel agent nudges its own probability by one delta of the action set, the reward is
    each voxel's cross-entropy gain, then a simulated user clicks on the largest remaining
    mistakes and the clicks are encoded as object / background hint maps. One policy is shared
    by all voxels; a voxel sees its neighbours through the policy's receptive field.

    ## Axis order
    Volumes are numpy ``(D, H, W)`` = (slices z, rows y, columns x). The papers' "55×55×30"
    volume is ``shape=(30, 55, 55)``, the default of ``InteractiveSeg3D-v0``.
    ``InteractiveSeg2D-v0`` is the same env with a 2-tuple ``shape=(H, W)`` (default (64, 64)):
    internally one slice, observations ``(C, H, W)`` and actions ``(H, W)``.

    ## Observation space
    ``Box(float32, (C, D, H, W))`` with channels ``[image_1..image_M, p, h+, h-]`` (SPEC §2):
    the normalised image (M modalities, unbounded), the current probability in [0, 1] (or
    ``p >= 0.5`` when ``state="binary"``), the object-hint map and the background-hint map,
    both in [0, 1] (1 at a click, 0 = no hint). With ``step_channel=True`` a last channel holds
    ``t / T``, the share of the episode's steps already taken (0 at reset, the same in every
    voxel): a time-aware state, so that a policy can tell its last step from the others.

    ## Action space
    ``MultiDiscrete`` of shape ``(D, H, W)``: one index into the action set per voxel. The
    default set is ``(-0.4, -0.2, -0.1, +0.1, +0.2, +0.4)`` (K = 6); the update is
    ``p ← clip(p + A[a], 0, 1)`` (eq 2).

    ## Reward
    The mean of a per-voxel reward map (``info["reward_map"]``). Default ``"relative"``:
    ``X(t-1) - X(t)`` with ``X = -y log p - (1-y) log(1-p)`` on ``clip(p, ε, 1-ε)``. Worked
    example: a foreground voxel moved from 0.5 to 0.9 earns ``0.6931 - 0.1054 = 0.5878``; a
    background voxel moved from 0.5 to 0.9 earns ``0.6931 - 2.3026 = -1.6094``. Other
    designs: ``"absolute"``, ``"focal"``, ``"error_region"``, ``"confidence"`` (MECCA eq 8,
    needs the learner's confidence map), or any registered / callable design.

    ## Starting state
    ``reset`` picks a case (``options={"case_index": i}`` or uniformly with the env's seeded
    generator), sets ``p(0)`` with the initialiser (default: degraded ground truth with
    Dice ≈ 0.75), optionally gives ``initial_clicks`` clicks, and encodes the hints.

    ## Episode end
    ``terminated=True`` after ``max_steps`` steps (default 5; T = 1 is the immediate-reward
    ablation). ``truncated`` is always False. ``gamma`` is recorded for learners (eq 5).

    ## Info
    ``reward_map``, ``gain_map`` (float32 ``(D, H, W)``, step only), ``dice`` (of ``p >= 0.5``),
    ``clicks`` (a read-only mapping, :class:`ClickInfo`, of ``coords`` int64 ``(n, 3)`` z/y/x,
    ``labels`` bool (True = object), ``steps``: all clicks so far), ``num_clicks``, ``step``,
    ``case`` (its name).

    ## Arguments
    | argument | default | meaning |
    |---|---|---|
    | ``shape`` | None | ``(D, H, W)``, or ``(H, W)`` for 2D; None: (30, 55, 55) or the data's |
    | ``dataset`` | None | a case source, a NIfTI folder path (below); None = synthetic |
    | ``augment`` | False | flip/rotate the chosen case at reset (for the train split) |
    | ``num_cases``, ``start_seed`` | 100, 0 | synthetic cases are seeds ``start_seed + i`` |
    | ``difficulty`` | 0.5 | synthetic difficulty in [0, 1] |
    | ``actions`` | "paper" | a name of ``segenv.actions.ACTION_SETS`` or deltas |
    | ``reward``, ``reward_kwargs`` | "relative", {} | reward design and its parameters |
    | ``eps`` | 1e-6 | clipping of p inside the logs |
    | ``confidence`` | None | ``fn(observation, action) -> (D, H, W)`` confidence map |
    | ``user``, ``user_kwargs`` | "largest_error", {} | simulated user |
    | ``clicks_per_step`` | 5 | N_click |
    | ``initial_clicks`` | 0 | clicks given at reset (MECCA: 25) |
    | ``click_noise`` | 3 | uniform click jitter in [-n, n] voxels per axis |
    | ``hints``, ``hint_kwargs`` | "geodesic", {} | hint encoding |
    | ``accumulate_hints`` | True | hints keep all clicks so far, else the last step's |
    | ``state`` | "probability" | or "binary" (IteR-MRL Table 4) |
    | ``initialiser``, ``initialiser_kwargs`` | "degraded_truth", {} | ``p(0)`` |
    | ``max_steps`` | 5 | T |
    | ``gamma`` | 0.95 | discount recorded for learners |
    | ``render_mode`` | None | "rgb_array" or "human" |
    | ``step_channel`` | False | add the channel ``t / T`` to the observation (time-aware state) |

    ## Data on disk
    ``dataset="path/to/Task01_BrainTumour"`` (a str or ``os.PathLike``) loads an MSD task folder
    or a folder of image/label pairs with ``segenv.data.load_dataset``: modality 0, foreground
    = label > 0, cropped to the non-zero box and resized to ``shape``. NIfTI ``(x, y, z)``
    arrays become ``(D, H, W) = (z, y, x)`` after RAS+ reorientation (``segenv.data.nifti``).
    ``augment=True`` applies ``segenv.data.augment_case`` (flips on three axes, rotations in
    ±π/8; image linear, label nearest) with the env's generator before the initialiser.

    ## Example
    >>> import gymnasium as gym, segenv
    >>> env = gym.make("InteractiveSeg2D-v0")
    >>> obs, info = env.reset(seed=0)
    >>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())

    ## Version history
    * v0: initial release.
    """

    metadata: dict[str, Any] = {"render_modes": list(RENDER_MODES), "render_fps": 2}  # noqa: RUF012
    _probability: np.ndarray  # float32 (D, H, W), p
    _ce: np.ndarray  # its cross-entropy
    _hint_pos: np.ndarray  # float32 (D, H, W) object hints
    _hint_neg: np.ndarray  # background hints

    def __init__(
        self,
        shape: Sequence[int] | None = None,
        *,
        dataset: CaseSource | str | os.PathLike[str] | None = None,
        augment: bool = False,
        num_cases: int = 100,
        start_seed: int = 0,
        difficulty: float = 0.5,
        actions: str | Sequence[float] = "paper",
        reward: str | Callable[..., np.ndarray] = "relative",
        reward_kwargs: Mapping[str, Any] | None = None,
        eps: float = DEFAULT_EPS,
        confidence: ConfidenceFn | None = None,
        user: str | Callable[..., np.ndarray] = "largest_error",
        user_kwargs: Mapping[str, Any] | None = None,
        clicks_per_step: int = 5,
        initial_clicks: int = 0,
        click_noise: int = 3,
        hints: str | Callable[..., HintEncoder] = "geodesic",
        hint_kwargs: Mapping[str, Any] | None = None,
        accumulate_hints: bool = True,
        state: str = "probability",
        initialiser: str | Callable[..., np.ndarray] | np.ndarray = "degraded_truth",
        initialiser_kwargs: Mapping[str, Any] | None = None,
        max_steps: int = 5,
        gamma: float = 0.95,
        render_mode: str | None = None,
        step_channel: bool = False,
    ) -> None:
        """Build the env (see the class docstring); ``EnvConfig.from_kwargs`` validates it all."""
        arguments = {name: value for name, value in locals().items() if name != "self"}
        self._adopt(EnvConfig.from_kwargs(**arguments))

    @classmethod
    def from_config(cls, config: EnvConfig) -> InteractiveSegEnv:
        """The env of an already validated configuration (the PettingZoo view builds it so)."""
        env = cls.__new__(cls)
        env._adopt(config)
        return env

    def _adopt(self, config: EnvConfig) -> None:
        """Take the settings of ``config``; the env starts with no episode."""
        self.config = config
        self.render_mode = config.render_mode
        self.deltas = config.deltas
        self.observation_space = config.observation_space()
        self.action_space = config.action_space()
        self._episode: VolumeEpisode | None = None
        self._done = True
        self._confidence = PendingConfidence(config.confidence_fn, self._check_confidence)
        self._renderer: Any = None

    # ------------------------------------------------------------------ gym API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode on a case; ``options={"case_index": i}`` picks the case."""
        super().reset(seed=seed)
        options = options or {}
        episode.check_reset_options(options, ("case_index",))
        case = episode.pick_case(self.config, self.np_random, options.get("case_index"))
        start = episode.start_episode(self.config, self.np_random, case)
        self._episode = start.episode
        self._probability, self._ce = start.probability, start.cross_entropy
        self._hint_pos = np.zeros(case.shape, dtype=np.float32)
        self._hint_neg = np.zeros(case.shape, dtype=np.float32)
        if start.hints is not None:
            episode.apply_hint_update(self._hint_pos, self._hint_neg, start.hints)
        self._done = False
        self._confidence.clear()
        return self._observation(), self._info()

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Apply the joint action, reward it, let the user click, and rebuild the hints."""
        current = self._episode
        if current is None or self._done:
            step = 0 if current is None else current.step
            raise EnvStateError(
                "step() called before reset() or after the episode ended "
                f"(step {step} of {self.max_steps}); call env.reset() first"
            )
        case = current.case
        action = validate_action(action, self.view_shape, len(self.deltas)).reshape(case.shape)
        confidence = self._confidence.take(self._observation, self._view(action))
        outcome = episode.step_volume(
            self.config, self._probability, self._ce, case.label, action, confidence
        )
        self._probability, self._ce = outcome.probability, outcome.cross_entropy
        current.step += 1
        prediction = self._probability >= 0.5
        update = episode.interact(
            self.config,
            current,
            self._probability,
            prediction,
            self.clicks_per_step,
            confidence,
            self.np_random,
        )
        if update is not None:
            episode.apply_hint_update(self._hint_pos, self._hint_neg, update)
        terminated = current.step >= self.max_steps
        self._done = terminated
        info = self._info()
        info["reward_map"] = self._view(outcome.reward_map)
        info["gain_map"] = self._view(outcome.gain)
        if self.render_mode == "human":
            self.render()
        return (
            self._observation(),
            float(outcome.reward_map.mean(dtype=np.float64)),
            terminated,
            False,
            info,
        )

    def render(self) -> np.ndarray | None:
        """``rgb_array``: a montage of central slices; ``human``: the same in a window."""
        if self.render_mode is None or self._episode is None:
            return None
        frame = episode.episode_frame(
            self._episode, self._probability, self._hint_pos, self._hint_neg
        )
        if self.render_mode == "rgb_array":
            return frame
        if self._renderer is None:
            from segenv.render import HumanRenderer

            self._renderer = HumanRenderer()
        self._renderer.show(frame)
        return None

    def close(self) -> None:
        """Close the human-mode window, if any."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    # ------------------------------------------------------------ extra API
    def set_confidence(self, confidence: np.ndarray) -> None:
        """Give the learner's action-confidence map ``(D, H, W)`` in [0, 1] for the next step."""
        self._confidence.give(confidence, "confidence map")

    @property
    def case(self) -> Case:
        """The current case (image, label, spacing, name)."""
        return self._current().case

    @property
    def probability(self) -> np.ndarray:
        """The current probability map ``p`` (a copy, in the observation's layout)."""
        return self._view(self._probability).copy()

    @property
    def clicks(self) -> Clicks:
        """All clicks given so far in this episode."""
        return self._current().clicks

    # --------------------------------------------------------------- internals
    def _current(self) -> VolumeEpisode:
        if self._episode is None:
            raise EnvStateError("no case yet: call env.reset() first")
        return self._episode

    def _check_confidence(self, confidence: Any, what: str) -> np.ndarray:
        """A confidence map in the observation's layout, validated, in the volume's layout."""
        return validate_probability(confidence, self.view_shape, what).reshape(self.volume_shape)

    def _observation(self) -> np.ndarray:
        m = self.num_modalities
        case = self._current().case
        obs = np.empty((self.config.num_channels, *case.shape), dtype=np.float32)
        obs[:m] = case.image
        if self.state == "binary":
            np.greater_equal(self._probability, 0.5, out=obs[m], casting="unsafe")
        else:
            obs[m] = self._probability
        obs[m + 1] = self._hint_pos
        obs[m + 2] = self._hint_neg
        if self.config.step_channel:
            obs[m + 3] = self._current().step / self.config.max_steps
        return obs[:, 0] if self.is_2d else obs

    def _info(self) -> dict[str, Any]:
        current = self._current()
        return episode.episode_info(current, dice(self._probability >= 0.5, current.case.label))

    def _view(self, volume: np.ndarray) -> np.ndarray:
        return volume[0] if self.is_2d else volume
