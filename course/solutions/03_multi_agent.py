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


def greedy_evaluation(
    env: Any, values: np.ndarray, tables: np.ndarray, episodes: int, *, seed: int = 0
) -> np.ndarray:
    """Play ``episodes`` episodes with every agent greedy on its table; no learning, no ε.

    Agent ``i`` (in ``env.possible_agents`` order, the layout of ``reset_array``) reads table
    ``tables[i]`` at its :func:`state_index` state and takes the action of the highest value
    (``argmax``; ties go to the lowest index). Episode ``e`` is reset with seed ``seed + e``.

    Returns:
        ``(episodes, 2)``: per episode ``[mean reward per step, final Dice]``, as ``train``.
    """
    num_agents = len(env.possible_agents)
    history = np.zeros((episodes, 2))
    for episode in range(episodes):
        observations, info = env.reset_array(seed=seed + episode)
        rewards_sum, steps, done = 0.0, 0, False
        while not done:
            states = state_index(observations, env.patch_size).reshape(num_agents)
            actions = values[tables, states].argmax(axis=-1)
            observations, reward_map, terminated, truncated, info = env.step_array(actions)
            rewards_sum += float(reward_map.mean())
            steps += 1
            done = terminated or truncated
        history[episode] = rewards_sum / steps, info["dice"]
    return history


def visited_fraction(counts: np.ndarray) -> float:
    """The fraction of (table, state) pairs in which at least one action was ever updated.

    Args:
        counts: ``(num_tables, NUM_STATES, K)`` update counts (``train`` returns them).
    """
    return float((np.asarray(counts) > 0).any(axis=-1).mean())


def train(
    env: Any, shared: bool, episodes: int, *, epsilon: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
        ``(values, counts, history)``: the tables, how often each cell was updated, and per
        episode ``[mean reward per step, final Dice]`` (``(episodes, 2)``).
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
    return values, counts, history


EXPERIMENT = {"shape": (16, 16), "episodes": 40, "held_out_episodes": 10, "seed": 0}
"""The graded experiment of ``answers.py``: small enough to run in seconds"""


def sharing_experiment(**settings: Any) -> dict[str, dict[str, float]]:
    """Train both learners, then test them greedily on held-out cases (given, not a TODO).

    Trains on 50 synthetic cases (``start_seed=0``) and tests on 20 others
    (``start_seed=10_000``), 3×3 patches, 5 initial clicks, with :data:`EXPERIMENT`'s sizes
    (override any with keyword arguments). Returns per learner (``"shared"``,
    ``"independent"``): ``train_dice`` (mean final Dice of the last quarter of training),
    ``held_out_reward`` and ``held_out_dice`` (mean reward per step and mean final Dice on the
    held-out cases) and ``visited`` (the :func:`visited_fraction` of its tables).
    """
    from segenv import marl

    config = {**EXPERIMENT, **settings}
    shape, seed = tuple(config["shape"]), int(config["seed"])
    train_env = marl.parallel_env(shape=shape, patch_size=3, num_cases=50, initial_clicks=5)
    held_out = marl.parallel_env(
        shape=shape, patch_size=3, num_cases=20, start_seed=10_000, initial_clicks=5
    )
    results = {}
    for name in ("shared", "independent"):
        shared = name == "shared"
        values, counts, history = train(train_env, shared, int(config["episodes"]), seed=seed)
        tables = table_of_agent(len(train_env.possible_agents), shared)
        test = greedy_evaluation(
            held_out, values, tables, int(config["held_out_episodes"]), seed=seed + 500
        )
        quarter = max(1, len(history) // 4)
        results[name] = {
            "train_dice": float(history[-quarter:, 1].mean()),
            "held_out_reward": float(test[:, 0].mean()),
            "held_out_dice": float(test[:, 1].mean()),
            "visited": float(visited_fraction(counts)),
        }
    return results


if __name__ == "__main__":
    for learner, result in sharing_experiment().items():
        print(learner, {key: round(value, 4) for key, value in result.items()})
