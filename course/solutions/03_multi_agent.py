"""Reference solution of step 3 (voxel agents). Try the exercise before reading it."""

from __future__ import annotations

from typing import Any

import numpy as np

NUM_STATES = 24
"""2 image levels × 3 hint states × 4 probability bins"""


def state_index(observations: np.ndarray, patch_size: int = 1, margin: float = 0.3) -> np.ndarray:
    """Discretise voxel agents' observations into ``NUM_STATES`` tabular states.

    Reads the centre voxel of each agent's observation (the observation itself when
    ``patch_size=1``): ``bright = image > 0.5`` (0/1), ``hint`` = 0 where ``h- - h+ > margin``,
    2 where ``h+ - h- > margin``, else 1, and ``pbin = min(floor(4 p), 3)``. The state is
    ``(bright * 3 + hint) * 4 + pbin``.

    Args:
        observations: One agent's observation of a 2D env, ``(C,)`` for ``patch_size=1`` or
            ``(C, k, k)`` for ``patch_size=k``, or many stacked in front (``(..., C)``,
            ``(..., C, k, k)``: ``reset_array``'s layout). Channels ``[image, p, h+, h-]``.
        patch_size: The env's ``patch_size`` (odd).
        margin: How far one hint must lead the other.

    Returns:
        Integer states, the shape of the leading axes (``()`` for one agent).
    """
    centre = np.asarray(observations)
    if patch_size > 1:
        centre = centre[..., patch_size // 2, patch_size // 2]
    image, probability = centre[..., 0], centre[..., -3]
    lead = centre[..., -2] - centre[..., -1]
    bright = (image > 0.5).astype(np.int64)
    hint = np.where(lead > margin, 2, np.where(lead < -margin, 0, 1))
    pbin = np.minimum(np.floor(4 * probability), 3).astype(np.int64)
    return (bright * 3 + hint) * 4 + pbin


def table_of_agent(num_agents: int, shared: bool) -> np.ndarray:
    """Which value table each agent uses: all table 0 (parameter sharing) or its own."""
    if shared:
        return np.zeros(num_agents, dtype=np.int64)
    return np.arange(num_agents, dtype=np.int64)


def sample_average_update(
    values: np.ndarray,
    counts: np.ndarray,
    tables: np.ndarray,
    states: np.ndarray,
    actions: np.ndarray,
    rewards: np.ndarray,
) -> None:
    """Fold one step of every agent into the action values, in place.

    ``values[t, s, a]`` is the mean of every reward seen in state ``s`` after action ``a`` by
    the agents that use table ``t``; ``counts`` how many. Agent ``i`` contributes
    ``rewards[i]`` to cell ``(tables[i], states[i], actions[i])``; several agents sharing a
    table may hit the same cell in one step, and each of their rewards counts.

    Args:
        values: ``(num_tables, NUM_STATES, K)`` float, updated in place.
        counts: Same shape, int, updated in place.
        tables: ``(num_agents,)`` each agent's table (:func:`table_of_agent`).
        states: ``(num_agents,)`` their states.
        actions: ``(num_agents,)`` their actions.
        rewards: ``(num_agents,)`` their rewards.
    """
    cells = (tables, states, actions)
    step_counts = np.zeros_like(counts)
    step_sums = np.zeros_like(values)
    np.add.at(step_counts, cells, 1)
    np.add.at(step_sums, cells, rewards)
    counts += step_counts
    seen = step_counts > 0
    values[seen] += (step_sums[seen] - step_counts[seen] * values[seen]) / counts[seen]


def train(
    env: Any, shared: bool, episodes: int, *, epsilon: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Train tabular voxel agents on a ``segenv.marl.parallel_env`` (given, not a TODO).

    Every agent acts ε-greedily on its table's values for its state; after every step each
    agent's reward is folded in with :func:`sample_average_update`. Uses the array path
    (``reset_array`` / ``step_array``): the same env, without building dicts.

    Args:
        env: The parallel env (any ``patch_size``).
        shared: One table for all agents (True) or one per agent (False).
        episodes: Episodes to train; episode ``e`` is reset with seed ``seed + e``.
        epsilon: Probability of a random action.
        seed: Seed of the exploration and of the first episode.

    Returns:
        ``(values, history)``: the tables, and per episode ``[mean reward per step, final
        Dice]`` (``(episodes, 2)``).
    """
    rng = np.random.default_rng(seed)
    num_agents, num_actions = len(env.possible_agents), env.num_actions
    tables = table_of_agent(num_agents, shared)
    values = np.zeros((int(tables.max()) + 1, NUM_STATES, num_actions))
    counts = np.zeros(values.shape, dtype=np.int64)
    history = np.zeros((episodes, 2))
    for episode in range(episodes):
        observations, info = env.reset_array(seed=seed + episode)
        rewards_sum, steps, done = 0.0, 0, False
        while not done:
            states = state_index(observations, env.patch_size).reshape(num_agents)
            greedy = values[tables, states].argmax(axis=-1)
            explore = rng.random(num_agents) < epsilon
            actions = np.where(explore, rng.integers(0, num_actions, num_agents), greedy)
            observations, reward_map, terminated, truncated, info = env.step_array(actions)
            sample_average_update(values, counts, tables, states, actions, reward_map.ravel())
            rewards_sum += float(reward_map.mean())
            steps += 1
            done = terminated or truncated
        history[episode] = rewards_sum / steps, info["dice"]
    return values, history
