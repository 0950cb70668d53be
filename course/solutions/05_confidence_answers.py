"""Step 5 answers, the key (seed 0; the grader re-runs the experiment and compares)."""

WEIGHT_AT_CONFIDENCE_0_3 = 0.5
WEIGHT_AT_CONFIDENCE_0_9 = -0.1
REWARD_OF_A_CONFIDENT_GOOD_MOVE = -0.0588

ECE_FREQUENCY = 0.0118
ECE_HINT = 0.1874
PUNISHED_FREQUENCY = 0.8925
PUNISHED_HINT = 0.0378

BETTER_CALIBRATED = "frequency"

WHAT_GOES_WRONG = """
Most voxels are background and most actions on them push p down, which helps, so a calibrated
confidence is above 0.8 for almost every helpful action; the printed weight (0.8 - c) is then
negative, and the reward tells the agents to stop doing what is right. The hint heuristic is
badly calibrated but rarely exceeds 0.8, so it hides the problem. A weight that stays positive,
such as (1 - c) + a floor, or alpha = 1, or reading c as the chance that the move is wrong,
keeps the idea (spend the reward where the agent is unsure) without flipping its sign.
"""
