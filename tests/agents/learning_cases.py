"""A trivial data set for the slow "it learns" tests: bright discs on a noisy background.

The foreground is about a quarter of each 24×24 slice and three noise levels brighter than the
background, so a policy that reads the image can fix the degraded initial segmentation.
"""

import numpy as np

from segenv.data.case import make_case
from segenv_agents.common.evaluation import evaluate_policy
from segenv_agents.common.networks import NetworkConfig

SHAPE = (24, 24)
SMALL_NET = NetworkConfig(channels=8, shared_dilations=(1, 2), head_dilations=(2, 1))


def disc_cases(count, seed):
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[: SHAPE[0], : SHAPE[1]]
    cases = []
    for index in range(count):
        radius = rng.uniform(5.0, 7.0)
        centre = rng.uniform(radius + 1, SHAPE[0] - radius - 1, size=2)
        label = (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= radius**2
        image = 3.0 * label + rng.normal(0.0, 0.5, SHAPE)
        image = (image - image.mean()) / image.std()
        cases.append(make_case(image[None].astype(np.float32), label[None], name=f"disc-{index}"))
    return cases


def env_kwargs(seed=0, count=16, **changes):
    kwargs = {
        "shape": SHAPE,
        "dataset": disc_cases(count, seed),
        "initial_clicks": 5,
        "clicks_per_step": 5,
        "max_steps": 5,
    }
    kwargs.update(changes)
    return kwargs


def final_dice_gain(env, policy, episodes=8):
    dice = evaluate_policy(env, policy, episodes, measure_assd=False).aggregate()["dice_mean"]
    return float(dice[-1] - dice[0])
