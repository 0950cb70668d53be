"""Watch a trained agent: an episode drawn step by step, as a PNG strip or an animated GIF.

:func:`episode_frames` plays one episode and keeps the env's ``rgb_array`` picture
(:func:`segenv.render.render_montage`: image with the truth's contour, ``p`` with the
segmentation's, both hint maps, the clicks) before the first step and after every step;
:func:`strip` stacks them top to bottom, one row per step (two per step for a 3D volume: an
axial and a coronal cut). :func:`render_run` does it for the agent of a run directory, with the
user and without (``user="none"``), on the evaluation protocol of ``segenv evaluate``:
``segenv evaluate RUN --render DIR [--gif]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import matplotlib.image
import numpy as np
from matplotlib.animation import PillowWriter
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from segenv.errors import ConfigError

from . import registry
from .common.config import env_id_of
from .common.evaluation import Policy
from .common.runs import args_from_dict, read_config
from .compare import run_env_kwargs

GAP_PX = 6
GAP_COLOUR = (255, 255, 255)
RENDERED_USERS = ("largest_error", "none")
"""the agent with the evaluation's user, then the same agent without clicks"""


def episode_frames(
    env: gym.Env, policy: Policy, *, seed: int = 0, case_index: int = 0
) -> list[np.ndarray]:
    """Play one episode of ``env`` (``render_mode="rgb_array"``); its picture at every step.

    Returns T + 1 RGB frames: after ``reset`` (with ``seed`` and ``case_index``, as
    :func:`~.common.evaluation.play_episodes` resets episode ``case_index``), then after each
    step's action and the clicks that followed it.
    """
    if env.render_mode != "rgb_array":
        raise ConfigError(f"episode_frames needs render_mode='rgb_array', got {env.render_mode!r}")
    env.action_space.seed(seed)
    observation, _ = env.reset(seed=seed, options={"case_index": case_index})
    frames = [np.asarray(env.render())]
    done = False
    while not done:
        observation, _, terminated, truncated, _ = env.step(policy(observation, env))
        frames.append(np.asarray(env.render()))
        done = bool(terminated or truncated)
    return frames


def strip(frames: Sequence[np.ndarray], gap: int = GAP_PX) -> np.ndarray:
    """Stack RGB frames top to bottom with a white gap, padding narrower ones on the right."""
    if not frames:
        raise ConfigError("strip needs at least one frame")
    width = max(frame.shape[1] for frame in frames)
    rows: list[np.ndarray] = []
    for index, frame in enumerate(frames):
        padded = np.full((frame.shape[0], width, 3), GAP_COLOUR, dtype=np.uint8)
        padded[:, : frame.shape[1]] = frame[..., :3]
        if index:
            rows.append(np.full((gap, width, 3), GAP_COLOUR, dtype=np.uint8))
        rows.append(padded)
    return np.concatenate(rows, axis=0)


def save_gif(frames: Sequence[np.ndarray], path: Path, fps: int = 1) -> Path:
    """Write the frames as an animated GIF with matplotlib's ``PillowWriter`` (no pyplot)."""
    height, width = frames[0].shape[:2]
    figure = Figure(figsize=(width / 100, height / 100), dpi=100)
    FigureCanvasAgg(figure)
    axis = figure.add_axes((0.0, 0.0, 1.0, 1.0))
    axis.set_axis_off()
    shown = axis.imshow(frames[0], interpolation="nearest")
    writer = PillowWriter(fps=fps)
    with writer.saving(figure, str(path), dpi=100):
        for frame in frames:
            shown.set_data(frame)
            writer.grab_frame()
    return Path(path)


def render_run(
    run: Path,
    out_dir: Path,
    *,
    episodes: int = 2,
    split: str = "test",
    dataset: str | None = None,
    seed: int = 0,
    gif: bool = False,
    greedy: bool = True,
    device: str = "cpu",
) -> list[Path]:
    """Draw the first ``episodes`` evaluation episodes of a run's agent, with and without clicks.

    Episode ``i`` is played as ``segenv evaluate`` plays it (seed ``seed + i``, case ``i``), so
    the strips show cases of its table. Writes ``<out_dir>/episode<i>_user-<user>.png`` (and
    ``.gif`` with ``gif=True``) for the users in :data:`RENDERED_USERS`; returns the paths.
    """
    name, recorded = read_config(run)
    learner = registry.load(name)
    args = args_from_dict(learner.Args, recorded)
    policy = learner.load_policy(run, greedy=greedy, device=device)
    base = run_env_kwargs(args, split, dataset)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for user in RENDERED_USERS:
        env: Any = gym.make(env_id_of(args), **{**base, "user": user}, render_mode="rgb_array")
        try:
            for episode in range(min(episodes, len(env.unwrapped.dataset))):
                frames = episode_frames(env, policy, seed=seed + episode, case_index=episode)
                stem = out_dir / f"episode{episode}_user-{user}"
                matplotlib.image.imsave(stem.with_suffix(".png"), strip(frames))
                written.append(stem.with_suffix(".png"))
                if gif:
                    written.append(save_gif(frames, stem.with_suffix(".gif")))
        finally:
            env.close()
    return written
