"""The click-value benchmark runs end to end on tiny sizes, resumes, and prints the bar."""

from benchmark_runs import run_script


def test_click_value_benchmark_runs_resumes_and_checks_the_bar(tmp_path):
    flags = ("--quick", "--seeds", "0", "--learners", "a3c", "--out", str(tmp_path))
    first = run_script("click_value.py", *flags)
    assert first.returncode == 0, first.stderr
    for row in (
        "| initial segmentation (no-op) | 1 |",
        "| a3c, user=none | 1 |",
        "| a3c trained without interaction | 1 |",
        "| a3c, held-out family | 1 |",
        "| click value: Dice@5 minus user=none | 0 |",
        "| held-out family: Dice@5 minus Dice@0 | 0 |",
    ):
        assert row in first.stdout
    noop = next(line for line in first.stdout.splitlines() if line.startswith("| initial seg"))
    cells = [cell.strip() for cell in noop.split("|")[3:9]]
    assert len(set(cells)) == 1  # the no-op keeps Dice at every step
    assert (tmp_path / "quick3d" / "a3c-s0" / "eval.json").is_file()
    again = run_script("click_value.py", *flags)  # finished runs and evaluations are reused
    assert again.returncode == 0, again.stderr

    def tables(text):
        return [line for line in text.splitlines() if line.startswith("|")]

    assert tables(again.stdout) == tables(first.stdout)


def test_click_value_with_the_coarse_start_trains_one_coarse_network_for_every_run(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("SEGENV_CACHE_DIR", str(tmp_path / "cache"))
    flags = ("--quick", "--seeds", "0", "--learners", "a3c", "--start", "coarse")
    result = run_script("click_value.py", *flags, "--out", str(tmp_path / "runs"))
    assert result.returncode == 0, result.stderr
    assert "coarse start" in result.stdout
    assert result.stdout.count("epoch   1/1") == 1  # trained once, shared by every run
    runs = tmp_path / "runs" / "quick3d-coarse"
    for run in ("a3c-s0", "a3c-no-interaction-s0"):
        assert '"start": "coarse"' in (runs / run / "config.json").read_text()
