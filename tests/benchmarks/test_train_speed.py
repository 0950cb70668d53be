"""The training-speed benchmark keeps running (figures are read by people, not asserted)."""

from benchmark_runs import run_script


def test_train_speed_benchmark_runs_on_a_tiny_volume():
    result = run_script(
        "train_speed.py",
        "--tiny",
        *("--sizes", "quick", "--learners", "a3c", "ppo", "sb3_ppo", "--updates", "2"),
    )
    assert result.returncode == 0, result.stderr
    assert "| a3c | quick | 16×16 | cpu |" in result.stdout
    assert "| ppo | quick | 16×16 | cpu |" in result.stdout
    assert "| sb3_ppo | quick | 16×16 | cpu |" in result.stdout
