"""Step 6 answers: your comparison's result, with its evidence. Replace every ``None``.

Copy the runner's ``runs/course/06_compare_rewards/reward_designs.csv`` next to this file
(or set ``EVIDENCE`` to where it is, relative to this file). ``python -m course.check 6``
reads it with your ``final_dice_by_design`` and compares.
"""

EVIDENCE = "reward_designs.csv"

# Final Dice (fractions, e.g. 0.8312; at least 3 decimals), averaged over your seeds.
RELATIVE_FINAL_DICE = None
BALANCED_GAIN_FINAL_DICE = None
WINNER = None  # "relative" or "balanced_gain"

# What stands behind them (from the CSV: distinct seeds, and the episodes column).
NUM_SEEDS = None
NUM_TEST_CASES = None

# Three to five sentences: your conclusion, the evidence for it, and what it does not show
# (think of seeds, the test the report gives, and the budget).
CONCLUSION = """
"""
