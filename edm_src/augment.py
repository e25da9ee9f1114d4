"""Non-leaky augmentation: geometric transforms whose parameters the network is told (Sec. 5).

Augmenting a small training set with flips and rotations multiplies its size,
but a denoiser trained on the augmented images would also *generate* flipped
and rotated images: the augmentation leaks.  The paper (Table 2, config F,
after Karras et al.'s adaptive augmentation for GANs) makes it non-leaky by
passing the augmentation's parameters to the network as conditioning,
``augment_labels``, and sampling with the labels of "no augmentation", zero.

`AugmentPipe` draws, per image and with probability `p` each, a horizontal
flip and a rotation by a multiple of 90° (square images), and returns the
augmented images and their labels [B, 3]: (flipped, sin θ, 1 − cos θ), all 0
for an untouched image.  The transforms are exact permutations of the pixels,
so `invert` undoes them bit for bit.  It follows the losses' protocol
``augment_pipe(images) -> (images, augment_labels)``.
"""

from __future__ import annotations

import math

import torch

from ._validation import check_generator, check_real, check_tensor

#: Numbers per augment label: (flipped, sin θ, 1 − cos θ).
AUGMENT_DIM = 3


def _check_square_images(name: str, images: object) -> torch.Tensor:
    images = check_tensor(name, images, min_ndim=4, max_ndim=4)
    if images.shape[-1] != images.shape[-2]:
        raise ValueError(
            f"{name} must be square images [B, C, H, H] (rotations by 90°), "
            f"got shape {tuple(images.shape)}"
        )
    return images


def _transform(images: torch.Tensor, flip: torch.Tensor, quarter: torch.Tensor) -> torch.Tensor:
    """Flip (where `flip`) then rotate by `quarter`·90° each image [B, C, H, H]."""
    out = torch.where(flip[:, None, None, None], images.flip(-1), images)
    for k in (1, 2, 3):
        rotated = torch.rot90(out, k, dims=(-2, -1))
        out = torch.where((quarter == k)[:, None, None, None], rotated, out)
    return out


def _labels(flip: torch.Tensor, quarter: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    theta = quarter.to(torch.float64) * (math.pi / 2)
    sin = torch.round(theta.sin())  # exactly 0, ±1
    one_minus_cos = 1 - torch.round(theta.cos())
    return torch.stack([flip.to(torch.float64), sin, one_minus_cos], dim=1).to(dtype)  # [B, 3]


class AugmentPipe:
    """Flips and 90° rotations with probability `p` each, with their labels (see the module).

    State: the probability and the generator the draws come from (the caller's,
    if `__call__` is given one, as the training loop does for each run).
    """

    def __init__(self, p: float = 0.5, generator: torch.Generator | None = None):
        self.p = check_real("p", p, low=0.0, high=1.0)
        self.generator = check_generator("generator", generator)

    def __call__(
        self, images: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(augmented images [B, C, H, H], augment_labels [B, 3]); draws: flips, then rotations."""
        images = _check_square_images("images", images)
        generator = check_generator("generator", generator) or self.generator
        B = len(images)
        draws = torch.rand(B, 2, generator=generator, device=images.device)  # [B, 2]
        flip = draws[:, 0] < self.p
        rotate = draws[:, 1] < self.p
        quarter = torch.randint(1, 4, (B,), generator=generator, device=images.device)
        quarter = torch.where(rotate, quarter, torch.zeros_like(quarter))
        return _transform(images, flip, quarter), _labels(flip, quarter, images.dtype)


def invert(images: torch.Tensor, augment_labels: torch.Tensor) -> torch.Tensor:
    """Undo `AugmentPipe`: rotate back, then unflip, from the labels (exact)."""
    images = _check_square_images("images", images)
    augment_labels = check_tensor("augment_labels", augment_labels, min_ndim=2, max_ndim=2)
    if augment_labels.shape != (len(images), AUGMENT_DIM):
        raise ValueError(
            f"augment_labels must have shape [B, {AUGMENT_DIM}] with B = {len(images)}, "
            f"got {tuple(augment_labels.shape)}"
        )
    flip = augment_labels[:, 0] > 0.5
    sin, one_minus_cos = augment_labels[:, 1].round(), augment_labels[:, 2].round()
    quarter = torch.where(
        one_minus_cos == 2, 2, torch.where(sin == 1, 1, torch.where(sin == -1, 3, 0))
    )
    out = images
    for k in (1, 2, 3):
        back = torch.rot90(out, -k, dims=(-2, -1))
        out = torch.where((quarter == k)[:, None, None, None], back, out)
    return torch.where(flip[:, None, None, None], out.flip(-1), out)
