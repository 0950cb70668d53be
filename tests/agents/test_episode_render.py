import gymnasium as gym
import matplotlib.image
import numpy as np
import pytest
from PIL import Image

import segenv  # noqa: F401  (registers the env ids)
from segenv.errors import ConfigError
from segenv_agents import cli
from segenv_agents.episode_render import GAP_PX, episode_frames, save_gif, strip
from segenv_agents.scripted import hint_follower_policy

TINY_FLAGS = [
    *("--num-train-cases", "4", "--num-test-cases", "2", "--channels", "4"),
    *("--shared-dilations", "1", "--head-dilations", "1", "--num-envs", "2", "--threads", "1"),
    *("--eval-episodes", "1", "--total-updates", "1", "--no-progress"),
]


def test_strip_stacks_frames_with_gaps_and_pads_widths():
    frames = [np.zeros((3, 4, 3), np.uint8), np.full((2, 2, 3), 9, np.uint8)]
    picture = strip(frames, gap=1)
    assert picture.shape == (3 + 1 + 2, 4, 3) and picture.dtype == np.uint8
    assert (
        (picture[4:, :2] == 9).all()
        and (picture[3] == 255).all()
        and (picture[4:, 2:] == 255).all()
    )
    with pytest.raises(ConfigError):
        strip([])


def test_episode_frames_one_picture_per_step_and_a_gif(tmp_path):
    env = gym.make("InteractiveSeg2D-v0", shape=(16, 16), num_cases=2, initial_clicks=5,
                   render_mode="rgb_array")  # fmt: skip
    frames = episode_frames(env, hint_follower_policy, seed=0, case_index=1)
    assert len(frames) == env.unwrapped.max_steps + 1
    assert len({frame.shape for frame in frames}) == 1 and frames[0].shape[-1] == 3
    assert not np.array_equal(frames[0], frames[-1])  # p and the clicks changed
    with Image.open(save_gif(frames, tmp_path / "episode.gif")) as gif:
        assert gif.n_frames == len(frames)
    with pytest.raises(ConfigError, match="rgb_array"):
        episode_frames(gym.make("InteractiveSeg2D-v0", shape=(16, 16)), hint_follower_policy)


@pytest.mark.parametrize("shape", [("16", "16"), ("4", "16", "16")], ids=["2d", "3d"])
def test_evaluate_render_writes_a_strip_per_episode(tmp_path, capsys, shape):
    run, pictures = tmp_path / "run", tmp_path / "pictures"
    assert cli.main(["train", "a3c", "--out", str(run), "--shape", *shape, *TINY_FLAGS]) == 0
    command = ["evaluate", str(run), "--no-baselines", "--render", str(pictures), "--gif"]
    assert cli.main(command) == 0
    assert "wrote" in capsys.readouterr().out
    names = sorted(path.name for path in pictures.iterdir())
    expected = [f"episode{i}_user-{user}" for i in (0, 1) for user in ("largest_error", "none")]
    assert names == sorted(f"{stem}.{suffix}" for stem in expected for suffix in ("gif", "png"))
    picture = matplotlib.image.imread(pictures / "episode0_user-largest_error.png")
    height = frame_height(tuple(int(size) for size in shape))
    assert picture.shape[0] == 6 * height + 5 * GAP_PX  # the start and five steps


def frame_height(shape):
    env_id = "InteractiveSeg2D-v0" if len(shape) == 2 else "InteractiveSeg3D-v0"
    env = gym.make(env_id, shape=shape, num_cases=1, render_mode="rgb_array")
    env.reset(seed=0)
    return env.render().shape[0]
