"""Shared pieces of the learners, one concept per module (like stable-baselines3's ``common``).

Every learner of :mod:`segenv_agents` (A3C, MECCA, the SB3 plug-in, the supervised baselines)
builds on these, so nothing is copied between learners; nothing here imports a learner.

=================  ==========================================================================
``config``         :class:`~.config.EnvArgs` / :class:`~.config.RunArgs`, the settings every
                   learner's ``Args`` inherits, and the env keywords of a split (no torch)
``datasets``       a run on a NIfTI folder: its cases, splits and coarse p(0) (no torch)
``runtime``        torch's thread count and the seeds of a run
``networks``       :class:`~.networks.VoxelActorCritic`, :class:`~.networks.ConfidenceNet`
                   and their shape :class:`~.networks.NetworkConfig`
``distributions``  the per-voxel categorical: sampling, log-probabilities, entropy
``losses``         eq 7's discounted return, eq 6's value loss, eq 8's policy loss
``rollout``        vector envs and synchronous episodes (:class:`~.rollout.Rollout`)
``policies``       :class:`~.policies.NetworkPolicy`: a trained network as a policy
``evaluation``     the evaluation protocol: Dice per step, ASSD, NoC, flips (no torch)
``runs``           a run directory's ``config.json`` and what a resume may change (no torch)
``interrupts``     SIGINT / SIGTERM / a checkpoint signal: stop at an update (no torch)
``checkpoints``    atomic checkpoints
``logger``         TensorBoard scalars, ``scalars.jsonl`` and the progress bar
``training``       :class:`~.training.TrainingLoop`: resume, logging, checkpoints, signals
``distributed``    data-parallel training under torchrun: process group, rank seeds, gradient
                   all-reduce; no-ops in a single process
=================  ==========================================================================
"""
