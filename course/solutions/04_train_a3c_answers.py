"""Step 4 answers, the key."""

SCALAR_ADVANTAGE_OF_VOXEL_A = -0.5
VOXEL_ADVANTAGE_OF_VOXEL_A = 0.6
VOXEL_ADVANTAGE_OF_VOXEL_B = -1.6

EQ7_MAKES_VOXEL_A_ACTION = "less"

WHY_PER_VOXEL_CREDIT = """
With one scalar advantage every voxel is told the same thing: whether the mean reward beat the
critic. Thousands of voxels act at once, so that number is dominated by the many background
voxels and says almost nothing about any single voxel's action; good and bad moves are pushed
the same way, which is the credit assignment problem of many agents sharing one reward. The
per-voxel advantage gives each agent its own reward's credit, so the gradient separates them.
"""
