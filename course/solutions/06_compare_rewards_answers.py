"""Step 6 answers, the key: made from a `tiny`-profile run with seeds 0 and 1 (the CSV beside)."""

EVIDENCE = "06_compare_rewards_reward_designs.csv"

RELATIVE_FINAL_DICE = 0.0
BALANCED_GAIN_FINAL_DICE = 0.0
WINNER = "balanced_gain"  # a tie at 0.0 goes to the name first in sorted order

NUM_SEEDS = 2
NUM_TEST_CASES = 2

CONCLUSION = """
This key comes from the tiny profile, which trains for a handful of updates on tiny slices:
it checks that the reading of the evidence is right, not which design is better. With two seeds
and the test cases of one profile, a difference smaller than the spread between the seeds is
no evidence for either design; the paired Wilcoxon test in the report covers the test cases of
one pair of runs, not the training runs, and a longer budget may reverse the order.
"""
