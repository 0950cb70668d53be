"""The fully convolutional networks of the learners (SPEC §9).

:class:`VoxelActorCritic` is the dilated actor-critic of IteR-MRL §3.3 / MECCA §3.2 (shared
blocks, a policy head with a per-voxel distribution over the K actions, a value head) and
:class:`ConfidenceNet` MECCA §3.3's action-confidence network. Both run on 3D observations
``(B, C, D, H, W)`` with ``Conv3d`` and on the 2D env's ``(B, C, H, W)`` with ``Conv2d``
(``spatial_dims``); :class:`NetworkConfig` gives their shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from segenv.errors import ConfigError, InputTypeError


def spatial_dims_of(observation_shape: Sequence[int]) -> int:
    """Spatial dimensions of an env observation ``(C, D, H, W)`` → 3 or ``(C, H, W)`` → 2."""
    dims = len(observation_shape) - 1
    if dims not in (2, 3):
        raise ConfigError(
            f"observation shape {tuple(observation_shape)} must be (C, D, H, W) or (C, H, W)"
        )
    return dims


def _conv(spatial_dims: int) -> type[nn.Conv2d] | type[nn.Conv3d]:
    return nn.Conv3d if spatial_dims == 3 else nn.Conv2d


class ConvBlock(nn.Sequential):
    """Two 3×3(×3) convolutions with the same dilation, each followed by a ReLU (P-Net block)."""

    def __init__(self, in_channels: int, channels: int, dilation: int, spatial_dims: int) -> None:
        conv = _conv(spatial_dims)
        super().__init__(
            conv(in_channels, channels, 3, padding=dilation, dilation=dilation),
            nn.ReLU(inplace=True),
            conv(channels, channels, 3, padding=dilation, dilation=dilation),
            nn.ReLU(inplace=True),
        )


def _trunk(in_channels: int, channels: int, dilations: Sequence[int], dims: int) -> nn.Sequential:
    blocks = []
    for dilation in dilations:
        blocks.append(ConvBlock(in_channels, channels, dilation, dims))
        in_channels = channels
    return nn.Sequential(*blocks)


@dataclass(frozen=True)
class NetworkConfig:
    """Shape of the fully convolutional networks (SPEC §9); its defaults are the learners'.

    Attributes:
        channels: Feature channels of every block.
        shared_dilations: Dilation of each shared block (IteR-MRL: three blocks).
        head_dilations: Dilation of each block of the policy / value / confidence heads
            (IteR-MRL: three blocks; MECCA's P-Net variant: two).
    """

    channels: int = 32
    shared_dilations: tuple[int, ...] = (1, 2, 3)
    head_dilations: tuple[int, ...] = (4, 2, 1)

    def __post_init__(self) -> None:
        if isinstance(self.channels, bool) or not isinstance(self.channels, int):
            raise InputTypeError(f"channels must be an int, got {self.channels!r}")
        if self.channels < 1:
            raise ConfigError(f"channels must be >= 1, got {self.channels}")
        for name in ("shared_dilations", "head_dilations"):
            value = getattr(self, name)
            if not value or any(not isinstance(d, int) or d < 1 for d in value):
                raise ConfigError(f"{name} must be a non-empty tuple of ints >= 1, got {value!r}")


@dataclass
class NetworkArgs:
    """The network fields of a learner's ``Args`` (one flag each), defaults from NetworkConfig."""

    channels: int = NetworkConfig.channels
    """feature channels of every convolution block"""
    shared_dilations: tuple[int, ...] = NetworkConfig.shared_dilations
    """dilation of each shared block (IteR-MRL: three blocks)"""
    head_dilations: tuple[int, ...] = NetworkConfig.head_dilations
    """dilation of each block of every head (IteR-MRL: three blocks; MECCA's P-Net: two)"""

    def network_config(self) -> NetworkConfig:
        """These fields as a validated :class:`NetworkConfig`."""
        return NetworkConfig(
            self.channels, tuple(self.shared_dilations), tuple(self.head_dilations)
        )


class ActorCriticOutput(NamedTuple):
    """What :class:`VoxelActorCritic` returns."""

    logits: torch.Tensor  # (B, K, *spatial): per-voxel action logits
    value_map: torch.Tensor  # (B, *spatial): per-voxel value; its spatial mean is V(s) of eq 7


class VoxelActorCritic(nn.Module):
    """The fully convolutional actor-critic of IteR-MRL §3.3 (SPEC §9).

    Shared dilated blocks extract low-level features; a policy head and a value head (each its
    own dilated blocks and a 1×1 convolution) give per-voxel action logits and a per-voxel value
    map. No dense layer: the network runs on any volume size, and each voxel agent sees its
    neighbours through the receptive field. Input ``(B, C, D, H, W)`` (``spatial_dims=3``) or
    ``(B, C, H, W)`` (``spatial_dims=2``, the 2D env).
    """

    def __init__(
        self,
        in_channels: int,
        num_actions: int,
        *,
        spatial_dims: int = 3,
        config: NetworkConfig | None = None,
    ) -> None:
        super().__init__()
        if spatial_dims not in (2, 3):
            raise ConfigError(f"spatial_dims must be 2 or 3, got {spatial_dims!r}")
        if num_actions < 2 or in_channels < 1:
            raise ConfigError(
                f"need in_channels >= 1 and num_actions >= 2, got {in_channels}, {num_actions}"
            )
        self.config = config or NetworkConfig()
        self.spatial_dims = spatial_dims
        self.num_actions = num_actions
        channels, conv = self.config.channels, _conv(spatial_dims)
        self.shared = _trunk(in_channels, channels, self.config.shared_dilations, spatial_dims)
        self.policy_head = nn.Sequential(
            _trunk(channels, channels, self.config.head_dilations, spatial_dims),
            conv(channels, num_actions, 1),
        )
        self.value_head = nn.Sequential(
            _trunk(channels, channels, self.config.head_dilations, spatial_dims),
            conv(channels, 1, 1),
        )
        initialise_weights(self)
        self.memory_format = channels_last(spatial_dims)
        self.to(memory_format=self.memory_format)  # type: ignore[call-overload]

    @classmethod
    def for_observation(
        cls,
        observation_shape: Sequence[int],
        num_actions: int,
        config: NetworkConfig | None = None,
    ) -> VoxelActorCritic:
        """The network for an env's observations ``(C, *spatial)`` and ``num_actions`` actions."""
        return cls(
            observation_shape[0],
            num_actions,
            spatial_dims=spatial_dims_of(observation_shape),
            config=config,
        )

    def forward(self, observation: torch.Tensor) -> ActorCriticOutput:
        """Per-voxel logits ``(B, K, *spatial)`` and value map ``(B, *spatial)``."""
        features = self.shared(observation.contiguous(memory_format=self.memory_format))
        return ActorCriticOutput(self.policy_head(features), self.value_head(features)[:, 0])


class ConfidenceNet(nn.Module):
    """MECCA §3.3's action-confidence network: ``C(s, a) ∈ (0, 1)`` per voxel.

    The same shape as the value branch (shared blocks then head blocks, own parameters). The
    action enters as one extra channel holding each voxel's delta ``A[a]``, so ``C(s, -a)`` is
    the same network on the negated delta map (the symmetric sample of eq 6).
    """

    def __init__(
        self, in_channels: int, *, spatial_dims: int = 3, config: NetworkConfig | None = None
    ) -> None:
        super().__init__()
        if spatial_dims not in (2, 3):
            raise ConfigError(f"spatial_dims must be 2 or 3, got {spatial_dims!r}")
        self.config = config or NetworkConfig()
        channels = self.config.channels
        dilations = self.config.shared_dilations + self.config.head_dilations
        self.body = _trunk(in_channels + 1, channels, dilations, spatial_dims)
        self.out = _conv(spatial_dims)(channels, 1, 1)
        initialise_weights(self)
        self.memory_format = channels_last(spatial_dims)
        self.to(memory_format=self.memory_format)  # type: ignore[call-overload]

    def forward(self, observation: torch.Tensor, delta_map: torch.Tensor) -> torch.Tensor:
        """Confidence logits ``(B, *spatial)`` for taking per-voxel deltas ``delta_map``."""
        stacked = torch.cat((observation, delta_map.unsqueeze(1)), dim=1)
        stacked = stacked.contiguous(memory_format=self.memory_format)
        return self.out(self.body(stacked))[:, 0]


def channels_last(spatial_dims: int) -> torch.memory_format:
    """The channels-last layout for 2D or 3D convolutions.

    Measured on this project's 2-core CPU (oneDNN), forward + backward of the actor-critic:
    2D 64×64, 16 channels, batch 4: 0.35 s → 0.28 s per 5-step episode; 3D 30×55×55,
    16 channels, batch 4: 1.47 s → 0.73 s per sample. The networks use it on every device.
    """
    return torch.channels_last_3d if spatial_dims == 3 else torch.channels_last


def initialise_weights(module: nn.Module) -> None:
    """Xavier-uniform convolution weights and zero biases (MECCA §4.1)."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.Conv3d)):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
