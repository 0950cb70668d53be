"""Step 3 answers: replace every ``None`` and fill in the two texts.

Run the graded experiment from the project root once your exercise passes its checks::

    python course/03_multi_agent/exercise.py

and copy what it prints (at least 3 decimals). ``python -m course.check 3`` re-runs the
experiment with your functions and compares.
"""

# Held-out cases, greedy agents (the experiment's "held_out_reward" and "held_out_dice").
SHARED_HELD_OUT_REWARD = None
INDEPENDENT_HELD_OUT_REWARD = None
SHARED_HELD_OUT_DICE = None
INDEPENDENT_HELD_OUT_DICE = None

# Fraction of (agent, state) pairs the independent learners ever updated ("visited").
INDEPENDENT_VISITED = None

# "shared" or "independent"
HIGHER_HELD_OUT_REWARD = None
HIGHER_HELD_OUT_DICE = None

# Two to four sentences each (your teacher reads them).
WHY_REWARD_AND_DICE_DISAGREE = """
"""
WHY_NON_STATIONARY = """
"""
