import gymnasium as gym
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import segenv  # noqa: E402, F401
from segenv.data.synthetic import SyntheticSource  # noqa: E402
from segenv.envs.interactive_seg import InteractiveSegEnv  # noqa: E402
from segenv.errors import ConfigError  # noqa: E402
from segenv.hints import make_hint_encoder  # noqa: E402
from segenv.views.batched import BatchedInteractiveSegEnv  # noqa: E402
from segenv.views.episodes import EncoderCache, EpisodeRules  # noqa: E402

SHAPE = (4, 10, 10)


def rules_of(**kwargs):
    return EpisodeRules.from_env(InteractiveSegEnv(SHAPE, num_cases=3, **kwargs))


def test_spawn_shares_the_edge_costs_and_encodes_identically():
    case = SyntheticSource(SHAPE, num_cases=1)[0]
    encoder = make_hint_encoder("geodesic", case.image, case.spacing, lam=0.5)
    twin = encoder.spawn()
    assert twin._graph is encoder._graph and twin._dist is not encoder._dist
    clicks = np.array([[1, 2, 3], [3, 8, 1]])
    np.testing.assert_array_equal(twin(clicks), encoder(clicks))
    np.testing.assert_array_equal(twin(clicks[:1]), encoder(clicks[:1]))


def test_cache_applies_to_geodesic_hints_without_augmentation_only():
    assert EncoderCache.applies(rules_of())
    assert not EncoderCache.applies(rules_of(augment=True))
    assert not EncoderCache.applies(rules_of(hints="euclidean"))


def test_cache_keeps_the_most_recently_used_cases():
    rules = rules_of()
    cache = EncoderCache(rules, capacity=2)
    cases = [rules.dataset[i] for i in range(3)]
    first = cache.encoder(cases[0])
    assert cache.encoder(cases[0])._graph is first._graph  # a spawn of the cached one
    cache.encoder(cases[1])
    cache.encoder(cases[0])  # now the most recent
    cache.encoder(cases[2])  # drops case 1
    assert cache.encoder(cases[0])._graph is first._graph
    assert [entry[0] for entry in cache._entries.values()] == [cases[2], cases[0]]


def test_cache_raises_the_encoders_own_errors():
    rules = rules_of(hint_kwargs={"lam": 2.0})
    with pytest.raises(ConfigError, match="lam"):
        EncoderCache(rules, capacity=1).encoder(rules.dataset[0])


def test_episodes_on_one_case_share_its_encoder_and_match_sync_exactly():
    kwargs = {"shape": SHAPE, "num_cases": 1, "max_steps": 1, "initial_clicks": 2}
    sync = gym.make_vec("InteractiveSeg3D-v0", num_envs=3, vectorization_mode="sync", **kwargs)
    batched = BatchedInteractiveSegEnv(3, array_type="numpy", **kwargs)
    np.testing.assert_array_equal(batched.reset(seed=4)[0], sync.reset(seed=4)[0])
    rng = np.random.default_rng(4)
    for _ in range(6):  # three episodes each, every reset on the one case
        actions = rng.integers(0, 6, size=sync.action_space.shape)
        expected, got = sync.step(actions), batched.step(actions)
        np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_array_equal(got[1], expected[1])
        for i in range(3):
            assert got[-1]["clicks"][i] == expected[-1]["clicks"][i]
    graphs = {id(episode.encoder._graph) for episode in batched._episodes}
    assert len(graphs) == 1 and len(batched._encoders._entries) == 1


def test_validated_batches_skip_the_per_volume_range_check_unvalidated_ones_do_not():
    kwargs = {"shape": SHAPE, "num_cases": 2, "max_steps": 2}
    actions = np.zeros((2, *SHAPE), dtype=np.int64)
    actions[1, 0, 0, 0] = 6
    for validate in (True, False):
        envs = BatchedInteractiveSegEnv(2, validate_actions=validate, **kwargs)
        envs.reset(seed=0)
        probability = envs.probability
        with pytest.raises(ConfigError, match=r"\[0, 6\)"):
            envs.step(actions)
        assert torch.equal(envs.probability, probability)
