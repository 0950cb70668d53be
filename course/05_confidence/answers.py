"""Step 5 answers: replace every ``None`` and fill in the text.

Run the graded experiment from the project root once your exercise passes its checks::

    python course/05_confidence/exercise.py

and copy what it prints (at least 3 decimals). ``python -m course.check 5`` re-runs the
experiment with your functions and compares.
"""

# By hand, MECCA's printed weight (alpha - c)**beta with alpha = 0.8, beta = 1:
WEIGHT_AT_CONFIDENCE_0_3 = None
WEIGHT_AT_CONFIDENCE_0_9 = None
# The confidence reward of a foreground voxel moved from p = 0.5 to 0.9 (gain 0.5878) by an
# action of confidence 0.9:
REWARD_OF_A_CONFIDENT_GOOD_MOVE = None

# The experiment, on held-out episodes:
ECE_FREQUENCY = None
ECE_HINT = None
PUNISHED_FREQUENCY = None
PUNISHED_HINT = None

# "frequency" or "hint": which confidence is better calibrated?
BETTER_CALIBRATED = None

# Two to four sentences: the better-calibrated confidence is the one MECCA's printed reward
# punishes most. Why, and what would you change (the weight, alpha, or what c means)?
WHAT_GOES_WRONG = """
"""
