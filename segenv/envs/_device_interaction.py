"""The simulated user and the hint maps of the batched env's ``torch`` backend.

:class:`DeviceInteraction` runs a round of interaction for the whole batch where its state
lives (CPU or CUDA tensors): the ``largest_error`` user's click centres
(:mod:`segenv.envs._torch_clicks`) and the geodesic hint maps
(:mod:`segenv.envs._torch_hints`) as batched torch ops, so no volume leaves the device. What
crosses to the host is small: the intended clicks (``N × n_clicks × 3`` integers), which each
volume's generator then moves by the placement noise and labels exactly as the reference env
does (:func:`segenv.interaction.place_clicks`, so the clicks and the random stream are the
reference env's), and the placed clicks going back as hint seeds. A user or a hint encoding
without a torch twin runs on the host per volume as in the ``numba`` backend (users: one copy
of ``p`` to the host; encodings: the maps uploaded), the other half staying on the device.
Users whose hints are noise (``none``) use the ``numba`` backend's interaction throughout.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from segenv.envs._torch_clicks import largest_error_clicks
from segenv.envs._torch_hints import (
    GeodesicCosts,
    geodesic_costs,
    geodesic_sweeps,
    hints_from_distance,
    new_distances,
)
from segenv.envs._workers import VolumeWorkers
from segenv.envs.config import EnvConfig
from segenv.envs.episode import HintUpdate, VolumeEpisode
from segenv.errors import EnvStateError
from segenv.hints import HINT_ENCODERS, GeodesicHintEncoder, geodesic_encoder, make_hint_encoder
from segenv.interaction import USERS, Clicks, UserContext, place_clicks, simulate_clicks

__all__ = ["BatchState", "DeviceInteraction"]

_LARGEST_ERROR = USERS.get("largest_error")


def _hints_on_device(image: np.ndarray, spacing: Sequence[float], **params: Any) -> Any:
    """The episodes' stand-in hint encoder while the hint maps are computed on the device."""
    return _NoHostEncoder()


class _NoHostEncoder:
    def __call__(self, coords: np.ndarray) -> np.ndarray:
        raise EnvStateError("this env's hint maps are computed on its device, not per volume")


class DeviceInteraction:
    """One round of the simulated user for the batch, and the hint maps, on the device.

    Args:
        config: the env's settings.
        num_envs: N.
        device: where the batch lives.
        workers: the env's thread pool (for a user that runs on the host).
    """

    @staticmethod
    def clicks_apply(config: EnvConfig) -> bool:
        """The user is ``largest_error`` (its only option, ``connectivity``, or none)."""
        return config.user is _LARGEST_ERROR and set(config.user_kwargs) <= {"connectivity"}

    @staticmethod
    def hints_apply(config: EnvConfig) -> bool:
        """The hint encoding is the built-in geodesic one."""
        return HINT_ENCODERS.get(config.hints) is geodesic_encoder

    @classmethod
    def applies(cls, config: EnvConfig) -> bool:
        """Some of the interaction can run on the device (not for noise hints)."""
        return not config.noise_hints and (cls.clicks_apply(config) or cls.hints_apply(config))

    def __init__(
        self, config: EnvConfig, num_envs: int, device: torch.device, workers: VolumeWorkers
    ) -> None:
        """Set up the device state of ``num_envs`` volumes."""
        self.config = config
        self.device = device
        self.workers = workers
        self.clicks_on_device = self.clicks_apply(config)
        self.hints_on_device = self.hints_apply(config)
        self.connectivity = int(config.user_kwargs.get("connectivity", 26))
        changes: dict[str, Any] = {"initial_clicks": 0}  # the initial clicks come from here
        if self.hints_on_device:
            changes["hints"] = _hints_on_device
        self.start_rules = dataclasses.replace(config, **changes)
        d, h, w = config.volume_shape
        self.spacings = torch.ones((num_envs, 3), dtype=torch.float64, device=device)
        self.last_iterations = torch.zeros((num_envs, 2), dtype=torch.int64, device=device)
        self.costs: GeodesicCosts | None = None
        self.lam = self.scale = 0.0
        self.iterations = 1
        if self.hints_on_device:
            # the numpy encoder validates the parameters (names, ranges) exactly as a reset would
            probe = make_hint_encoder(
                config.hints, np.zeros((1, 1, 1, 1), np.float32), **config.hint_kwargs
            )
            if isinstance(probe, GeodesicHintEncoder):  # always, as hints_apply checked
                self.lam, self.scale, self.iterations = probe.lam, probe.scale, probe.iterations
            images = torch.zeros((num_envs, config.num_modalities, d, h, w), device=device)
            self.costs = geodesic_costs(images, self.spacings, self.lam)
            self._distances = new_distances(num_envs, 2, (d, h, w), device)

    def start(self, rows: Sequence[int], images: torch.Tensor, spacings: np.ndarray) -> None:
        """New episodes in ``rows``: their images ``(k, M, D, H, W)`` and spacings ``(k, 3)``."""
        index = torch.as_tensor(np.asarray(rows, dtype=np.int64), device=self.device)
        sizes = torch.as_tensor(spacings, dtype=torch.float64, device=self.device)
        self.spacings.index_copy_(0, index, sizes)
        if self.costs is not None:
            self.costs.assign(index, geodesic_costs(images, sizes, self.lam))

    def interact(self, mask: np.ndarray, n_clicks: int, state: BatchState) -> None:
        """One round of clicks for the volumes of ``mask`` (their episodes' ``step`` set).

        Records the new clicks in the episodes and updates the hint maps in ``state``.
        """
        rows = np.flatnonzero(mask)
        if n_clicks == 0 or rows.size == 0:
            return
        episodes = {int(i): state.episode(int(i)) for i in rows}
        new = self._clicks(rows, episodes, state, n_clicks)
        for i, episode in episodes.items():
            episode.clicks = episode.clicks.concat(new[i])
        if self.hints_on_device:
            self._device_hints(mask, new, state)
        else:
            self._host_hints(rows, episodes, new, state)

    def _clicks(
        self,
        rows: np.ndarray,
        episodes: dict[int, VolumeEpisode],
        state: BatchState,
        n_clicks: int,
    ) -> dict[int, Clicks]:
        """Each volume's new clicks, placed and labelled with its own generator."""
        config, new = self.config, {}
        if self.clicks_on_device:
            coords, counts = largest_error_clicks(
                state.prediction, state.label, n_clicks, self.spacings, self.connectivity
            )
            host_coords, host_counts = coords.cpu().numpy(), counts.cpu().numpy()
            for i, episode in episodes.items():
                new[i] = place_clicks(
                    host_coords[i, : host_counts[i]],
                    episode.case.label,
                    state.generator(int(i)),
                    noise=config.click_noise,
                    step=episode.step,
                )
            return new
        prediction, probability = state.prediction.cpu().numpy(), state.probability.cpu().numpy()
        confidence = None if state.confidence is None else state.confidence.cpu().numpy()

        def click(i: int) -> None:  # the reference env's interact(), without the hints
            episode = episodes[i]
            context = UserContext(
                prediction=prediction[i],
                label=episode.case.label,
                image=episode.case.image,
                probability=probability[i],
                step=episode.step,
                confidence=None if confidence is None else confidence[i],
                previous_clicks=episode.clicks,
                spacing=episode.case.spacing,
            )
            new[i] = simulate_clicks(
                config.user,
                context,
                n_clicks,
                state.generator(i),
                noise=config.click_noise,
                step=episode.step,
                **config.user_kwargs,
            )

        self.workers.run(click, rows)
        return new

    def _device_hints(self, mask: np.ndarray, new: dict[int, Clicks], state: BatchState) -> None:
        """Geodesic maps of the new clicks of both classes of every volume, in one transform."""
        if self.costs is None:  # pragma: no cover - only called with hints_on_device
            raise EnvStateError("the geodesic costs were not set up")
        seeds = [
            np.column_stack([np.full(len(clicks), i), (~clicks.labels).astype(np.int64)])
            for i, clicks in new.items()
        ]
        coords = [clicks.coords for clicks in new.values()]
        dist = self._distances.fill_(float("inf"))
        if seeds and sum(len(c) for c in coords):
            where = torch.as_tensor(
                np.concatenate([np.concatenate(seeds), np.concatenate(coords) + 1], axis=1),
                device=self.device,
            )
            dist[where[:, 0], where[:, 1], where[:, 2], where[:, 3], where[:, 4]] = 0.0
        self.last_iterations = geodesic_sweeps(self.costs, dist, self.iterations)
        maps = hints_from_distance(dist, self.scale)  # 0 where a class got no click
        for side, hints in enumerate((state.hint_pos, state.hint_neg)):
            if self.config.accumulate_hints:
                torch.maximum(hints, maps[:, side], out=hints)
            else:
                rows = torch.as_tensor(mask, device=self.device).reshape(-1, 1, 1, 1)
                hints.copy_(torch.where(rows, maps[:, side], hints))

    def _host_hints(
        self,
        rows: np.ndarray,
        episodes: dict[int, VolumeEpisode],
        new: dict[int, Clicks],
        state: BatchState,
    ) -> None:
        """The episodes' own encoders (a user's hint encoding), uploaded as the env does."""
        updates: dict[int, HintUpdate] = {}

        def encode(i: int) -> None:
            clicks, encoder = new[i], episodes[i].encoder
            maps = [
                encoder(clicks.of_class(side)) if (clicks.labels == side).any() else None
                for side in (True, False)
            ]
            updates[i] = HintUpdate(maps[0], maps[1], replace=not self.config.accumulate_hints)

        self.workers.run(encode, rows)
        for i in rows:
            state.apply_hint_update(int(i), updates[int(i)])


@dataclasses.dataclass
class BatchState:
    """What a round of interaction reads and writes of the batched env."""

    episode: Callable[[int], VolumeEpisode]
    generator: Callable[[int], np.random.Generator]
    prediction: torch.Tensor  # bool (N, D, H, W), p >= 0.5
    probability: torch.Tensor
    label: torch.Tensor
    confidence: torch.Tensor | None
    hint_pos: torch.Tensor  # float32 (N, D, H, W), views of the observation
    hint_neg: torch.Tensor
    apply_hint_update: Callable[[int, HintUpdate], None]
