"""Step 5 exercise: MECCA's confidence-weighted reward, and whether a confidence is calibrated.

Fill in the five functions marked TODO (replace each ``raise NotImplementedError``); the
experiment at the bottom is given and uses them. Then run it and write what it measured into
``answers.py``. Check your work from the project root::

    python -m course.check 5        # one line per check
    pytest course/05_confidence     # the same checks, with pytest's tracebacks

Everything you need is in this step's README.md.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def action_helps(deltas: np.ndarray, label: np.ndarray) -> np.ndarray:
    """MECCA's confidence target: whether each voxel's action moves ``p`` towards its truth.

    True where the step is positive on a foreground voxel or negative on a background voxel.

    Args:
        deltas: Each voxel's step (``env.unwrapped.deltas[action]``), any shape.
        label: Bool truth of the same shape.

    Returns:
        Bool, the shape of ``deltas``.
    """
    # TODO: two boolean masks combined with | (no loop over voxels).
    raise NotImplementedError("step 5: write action_helps")


def punished_fraction(confidence: np.ndarray, helps: np.ndarray, alpha: float = 0.8) -> float:
    """The share of helpful actions whose confidence reward ``(α - c)·gain`` is negative.

    A helpful action has a positive gain, so its reward is negative exactly where ``c > α``.

    Args:
        confidence: The action confidence of each voxel-step, in [0, 1].
        helps: Whether each action helped (:func:`action_helps`).
        alpha: MECCA's α.

    Returns:
        ``#(helps and c > α) / #helps``; 0.0 when no action helped.
    """
    # TODO: select the helpful actions with a boolean index, then compare with alpha.
    raise NotImplementedError("step 5: write punished_fraction")


def reliability(
    confidence: np.ndarray, outcome: np.ndarray, bins: int = 10
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A reliability diagram's numbers: per confidence bin, mean confidence, accuracy, count.

    ``bins`` equal-width bins over [0, 1]; bin ``b`` holds ``b/bins <= c < (b+1)/bins`` and
    the last bin also holds ``c = 1``.

    Returns:
        ``(mean_confidence, accuracy, count)``, each ``(bins,)``; an empty bin has NaN mean
        confidence and accuracy and count 0.
    """
    # TODO: the bin index of each confidence (mind c = 1), then np.bincount with and without
    # weights= gives counts and sums per bin.
    raise NotImplementedError("step 5: write reliability")


def expected_calibration_error(
    confidence: np.ndarray, outcome: np.ndarray, bins: int = 10
) -> float:
    """ECE: ``Σ_b (n_b / N) · |accuracy_b - mean confidence_b|`` over the non-empty bins."""
    # TODO: use reliability(); skip the empty bins.
    raise NotImplementedError("step 5: write expected_calibration_error")


def frequency_confidence(
    states: np.ndarray,
    actions: np.ndarray,
    helps: np.ndarray,
    num_states: int,
    num_actions: int,
) -> np.ndarray:
    """A tabular confidence: how often action ``a`` helped in state ``s``, with a prior.

    ``c[s, a] = (helped[s, a] + 1) / (tried[s, a] + 2)`` (Laplace's rule: 0.5 for a cell
    never tried), counted over all voxel-steps at once.

    Returns:
        ``(num_states, num_actions)`` float64.
    """
    # TODO: np.add.at, as in step 3's sample_average_update, on two (S, K) arrays.
    raise NotImplementedError("step 5: write frequency_confidence")


# --- given: the experiment of answers.py (not a TODO) -------------------------------------------

NUM_STATES = 6
"""which hint leads (3) × which side of 0.5 ``p`` is on (2), as step 3's ``simple_state``"""

EXPERIMENT = {"shape": (32, 32), "train_episodes": 12, "test_episodes": 12, "seed": 0}
"""The graded experiment of ``answers.py``: small enough to run in seconds"""


def voxel_states(observation: np.ndarray, margin: float = 0.3) -> np.ndarray:
    """Step 3's 6 states of every voxel of an observation ``(C, *spatial)``, flattened."""
    probability, lead = observation[-3], observation[-2] - observation[-1]
    hint = np.where(lead > margin, 2, np.where(lead < -margin, 0, 1))
    return (hint * 2 + (probability >= 0.5)).reshape(-1).astype(np.int64)


def hint_confidence(observation: np.ndarray, deltas: np.ndarray) -> np.ndarray:
    """A hand-made confidence that an action helps: how strongly the hints agree with it.

    ``0.5 + 0.5·|h+ - h-|`` where the action moves ``p`` towards the leading hint, ``0.5 -
    0.5·|h+ - h-|`` where it moves away: sure of itself wherever a hint is strong.
    """
    lead = (observation[-2] - observation[-1]).reshape(-1)
    agrees = np.sign(deltas) == np.sign(lead)
    strength = 0.5 * np.abs(lead)
    return np.where(agrees, 0.5 + strength, 0.5 - strength)


def collect(env: Any, episodes: int, seed: int) -> dict[str, np.ndarray]:
    """Play ``episodes`` episodes of random voxel actions; keep every voxel-step.

    Returns flat arrays over voxels and steps: ``states`` (:func:`voxel_states`),
    ``actions``, ``helps`` (:func:`action_helps` of each action) and ``hint_confidence``.
    """
    rng = np.random.default_rng(seed)
    deltas = np.asarray(env.unwrapped.deltas, dtype=np.float32)
    kept: dict[str, list[np.ndarray]] = {"states": [], "actions": [], "helps": []}
    kept["hint_confidence"] = []
    for episode in range(episodes):
        observation, _ = env.reset(seed=seed + episode)
        label = env.unwrapped.case.label.reshape(-1)
        done = False
        while not done:
            actions = rng.integers(0, len(deltas), observation[-3].size)
            kept["states"].append(voxel_states(observation))
            kept["actions"].append(actions)
            kept["helps"].append(np.asarray(action_helps(deltas[actions], label), dtype=bool))
            kept["hint_confidence"].append(hint_confidence(observation, deltas[actions]))
            action_map = actions.reshape(observation.shape[1:])
            observation, _, terminated, truncated, _ = env.step(action_map)
            done = terminated or truncated
    return {name: np.concatenate(parts) for name, parts in kept.items()}


def calibration_experiment(**settings: Any) -> dict[str, float]:
    """Fit the frequency confidence on training episodes, test both on held-out ones.

    2D env at :data:`EXPERIMENT`'s sizes (override any with keyword arguments), 5 initial
    clicks, random actions. Returns the held-out ``ece_frequency`` and ``ece_hint``
    (10 bins), and the share of the helpful actions that MECCA's printed weight
    ``(0.8 - c)`` punishes, ``punished_frequency`` and ``punished_hint``.
    """
    import gymnasium as gym

    import segenv  # noqa: F401  (registers the env ids)

    config = {**EXPERIMENT, **settings}
    shape, seed = tuple(config["shape"]), int(config["seed"])
    train_env = gym.make("InteractiveSeg2D-v0", shape=shape, num_cases=50, initial_clicks=5)
    test_env = gym.make(
        "InteractiveSeg2D-v0", shape=shape, num_cases=50, start_seed=10_000, initial_clicks=5
    )
    train = collect(train_env, int(config["train_episodes"]), seed)
    test = collect(test_env, int(config["test_episodes"]), seed + 500)
    num_actions = len(train_env.unwrapped.deltas)
    table = frequency_confidence(
        train["states"], train["actions"], train["helps"], NUM_STATES, num_actions
    )
    confidences = {"frequency": table[test["states"], test["actions"]]}
    confidences["hint"] = test["hint_confidence"]
    result = {}
    for name, confidence in confidences.items():
        result[f"ece_{name}"] = float(expected_calibration_error(confidence, test["helps"]))
        result[f"punished_{name}"] = float(punished_fraction(confidence, test["helps"]))
    return result


if __name__ == "__main__":
    print({key: round(value, 4) for key, value in calibration_experiment().items()})
