"""Step 3 answers, the key (seed 0; the grader re-runs the experiment and compares)."""

SHARED_HELD_OUT_REWARD = -0.0212
INDEPENDENT_HELD_OUT_REWARD = -0.0537
SHARED_HELD_OUT_DICE = 0.1308
INDEPENDENT_HELD_OUT_DICE = 0.3882

INDEPENDENT_VISITED = 0.4285

HIGHER_HELD_OUT_REWARD = "shared"
HIGHER_HELD_OUT_DICE = "independent"

WHY_REWARD_AND_DICE_DISAGREE = """
The agents maximise the mean cross-entropy gain, not Dice. Most voxels are background, so
pushing p down is rewarded almost everywhere, and the shared table, which pools every agent's
rewards, learns that rule well and applies it on every image, including to object voxels; the
independent tables saw too little to learn it (most of their states were never visited) and
drift less far from the start. More reward with less Dice is the reward's failure, not the
learner's.
"""
WHY_NON_STATIONARY = """
A voxel's reward depends only on its own move, but its next observation does not: the user
clicks on the largest error regions, which all voxels' actions shape, and the hint maps spread
from those clicks to every voxel. While the other agents' tables change, the clicks and hints a
voxel sees for the same own state and action change too, so its transition distribution drifts.
"""
