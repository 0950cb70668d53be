"""Step 4 answers: credit assignment by hand. Replace every ``None``; fill in the text.

Two voxels, one step (T = 1), the critic says V = 0 for both. Voxel A moved towards the truth
and earned +0.6; voxel B moved away and earned -1.6 (use your ``mean_advantage`` and
``voxel_advantage`` on these maps, or compute by hand).
"""

# IteR-MRL eq 7: one advantage for every voxel.
SCALAR_ADVANTAGE_OF_VOXEL_A = None
# PixelRL: each voxel's own.
VOXEL_ADVANTAGE_OF_VOXEL_A = None
VOXEL_ADVANTAGE_OF_VOXEL_B = None

# Under eq 7, is voxel A's good action made more likely or less likely by the policy
# gradient -log pi(a|s) * A? "more" or "less"
EQ7_MAKES_VOXEL_A_ACTION = None

# Two to four sentences: why does A3C with eq 7's scalar advantage (and SB3's PPO, which
# sums the voxels' log-probabilities against one reward) end at Dice 0 in the project README,
# while the per-voxel advantage learns? Use the words "credit assignment".
WHY_PER_VOXEL_CREDIT = """
"""
