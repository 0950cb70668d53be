"""One A3C update on each rank, run by torchrun from test_distributed.py.

``python -m torch.distributed.run --standalone --nproc_per_node=2 ddp_one_update.py OUT`` makes
each rank play its own episodes, average its gradients with the other rank's and take one Adam
step, with the code ``segenv train a3c`` runs; each rank saves its rollout, its loss and its
parameters before and after to ``OUT/rank{R}-{CASE}.pt`` for the test to compare with one
process's update on both ranks' episodes together. Then one PPO update (its epochs of
minibatches) on each rank, saved to ``OUT/rank{R}-ppo.pt``: the ranks must end equal.
"""

import dataclasses
import sys
from pathlib import Path

import torch

from segenv_agents import a3c, ppo
from segenv_agents.common import distributed
from segenv_agents.common.runtime import configure_torch, seed_everything

CASES = {
    "mean": {"advantage": "mean"},
    "voxel-conv": {"advantage": "voxel", "reward_conv": True},
}


def tiny_args(**changes):
    args = a3c.Args(
        shape=(16, 16),
        num_train_cases=8,
        num_test_cases=2,
        total_updates=3,
        num_envs=2,
        channels=4,
        shared_dilations=(1,),
        head_dilations=(1,),
        lr=1e-3,
        max_grad_norm=0.5,
        threads=1,
        checkpoint_every_s=1e9,
    )
    return dataclasses.replace(args, **changes)


def parameters(module):
    return {name: value.detach().clone() for name, value in module.named_parameters()}


def main(out: Path) -> None:
    configure_torch(1)
    device = torch.device("cpu")
    with distributed.session(device):
        assert distributed.world_size() == 2, "run me with two ranks"
        for case, changes in CASES.items():
            args = tiny_args(**changes)
            shape, num_actions = a3c.observation_layout(args)
            seed_everything(args.seed)
            learner = a3c.Learner(args, shape, num_actions)
            optimizer = torch.optim.Adam(learner.parameters(), lr=args.lr)
            distributed.broadcast_module(learner)
            generator = torch.Generator().manual_seed(distributed.rank_seed(args.seed))
            envs = a3c.make_envs(args)
            before = parameters(learner)
            seeds = a3c.rank_episode_seeds(args, 0)
            loss, rollout = a3c.play_and_score(
                learner, envs, seeds, generator, args, device, update=0
            )
            a3c.apply_gradients(learner, optimizer, loss, args, a3c.learning_rate(args, 0))
            envs.close()
            torch.save(
                {
                    "seeds": seeds,
                    "rollout": dataclasses.asdict(rollout),
                    "loss": float(loss.total.detach()),
                    "before": before,
                    "after": parameters(learner),
                },
                out / f"rank{distributed.rank()}-{case}.pt",
            )
        args = ppo.Args(
            shape=(16, 16),
            num_train_cases=8,
            num_test_cases=2,
            num_envs=2,
            update_epochs=2,
            num_minibatches=2,
            channels=4,
            shared_dilations=(1,),
            head_dilations=(1,),
            lr=1e-3,
            threads=1,
        )
        shape, num_actions = ppo.observation_layout(args)
        generator = seed_everything(args.seed)
        learner = ppo.Learner(args, shape, num_actions)
        optimizer = torch.optim.Adam(learner.net.parameters(), lr=args.lr, eps=1e-5)
        distributed.broadcast_module(learner.net)
        torch.manual_seed(distributed.rank_seed(args.seed))
        generator.manual_seed(distributed.rank_seed(args.seed))
        env = ppo.make_env(args, device=device)
        before = parameters(learner.net)
        data = ppo.collect(learner, env, 1000 * distributed.rank(), args.max_steps)
        ppo.optimise(learner, optimizer, data, args, generator)
        env.close()
        torch.save(
            {"before": before, "after": parameters(learner.net)},
            out / f"rank{distributed.rank()}-ppo.pt",
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
