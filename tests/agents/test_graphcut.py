import gymnasium as gym
import numpy as np
import pytest

from segenv.errors import ConfigError
from segenv.interaction import Clicks
from segenv_agents.common.evaluation import evaluate_policy
from segenv_agents.graphcut import GraphCutPolicy, contrast_scale, graph_cut

IMAGE = np.zeros((1, 1, 1, 4))
PROBABILITY = np.array([[[0.9, 0.9, 0.1, 0.1]]])


def clicks(coords, labels):
    coords = np.asarray(coords, np.int64).reshape(-1, 3)
    return Clicks(coords, np.asarray(labels, bool), np.zeros(len(coords), np.int64))


def test_without_pairwise_terms_the_cut_thresholds_p():
    cut = graph_cut(IMAGE, PROBABILITY, Clicks.empty(), lam=0.0)
    assert cut.tolist() == [[[True, True, False, False]]]


def test_clicks_are_hard_seeds():
    cut = graph_cut(IMAGE, PROBABILITY, clicks([[0, 0, 1], [0, 0, 2]], [False, True]), lam=0.0)
    assert cut.tolist() == [[[True, False, True, False]]]


def test_strong_smoothness_on_a_flat_image_removes_the_isolated_voxel():
    probability = np.array([[[0.9, 0.9, 0.4, 0.9, 0.9]]])
    image = np.zeros((1, 1, 1, 5))
    assert not graph_cut(image, probability, Clicks.empty(), lam=0.0)[0, 0, 2]
    assert graph_cut(image, probability, Clicks.empty(), lam=5.0).all()


def test_an_intensity_edge_keeps_the_boundary():
    image = np.array([[[[0.0, 0.0, 3.0, 3.0]]]])
    probability = np.array([[[0.9, 0.6, 0.4, 0.1]]])
    cut = graph_cut(image, probability, Clicks.empty(), lam=5.0, sigma=0.5)
    assert cut.tolist() == [[[True, True, False, False]]]


def test_bad_parameters():
    with pytest.raises(ConfigError, match="sigma"):
        graph_cut(IMAGE, PROBABILITY, Clicks.empty(), sigma=0.0)


def test_policy_runs_in_the_env():
    env = gym.make("InteractiveSeg2D-v0", shape=(16, 16), num_cases=2, initial_clicks=3)
    metrics = evaluate_policy(env, GraphCutPolicy(), 2, measure_assd=False)
    assert metrics.aggregate()["dice_mean"].shape == (6,)


def test_contrast_scale_hand_value():
    image = np.array([[[[0.0, 1.0, 3.0]]]])  # differences 1 and 2 along W only
    assert contrast_scale(image) == pytest.approx(np.sqrt((1 + 4) / 2))
    assert contrast_scale(np.zeros((1, 1, 1, 3))) == 1e-3


def test_auto_sigma_is_the_contrast_scale():
    image = np.array([[[[0.0, 0.0, 3.0, 3.0]]]])
    probability = np.array([[[0.9, 0.6, 0.4, 0.1]]])
    sigma = contrast_scale(image)
    auto = graph_cut(image, probability, Clicks.empty(), lam=5.0, sigma="auto")
    fixed = graph_cut(image, probability, Clicks.empty(), lam=5.0, sigma=sigma)
    np.testing.assert_array_equal(auto, fixed)
    with pytest.raises(ConfigError, match="sigma"):
        graph_cut(image, probability, Clicks.empty(), sigma="median")


def test_tuned_picks_the_lambda_with_the_best_first_step():
    # 3D volumes with a small object: a large λ cuts it away (graph cut's shrinking bias)
    env = gym.make("InteractiveSeg3D-v0", shape=(12, 24, 24), num_cases=4, initial_clicks=5)
    tuned = GraphCutPolicy.tuned(env, episodes=4, candidates=(0.25, 8.0))
    assert tuned.lam == 0.25 and tuned.sigma == "auto"
    with pytest.raises(ConfigError, match="episodes"):
        GraphCutPolicy.tuned(env, episodes=0)
