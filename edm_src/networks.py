"""Raw networks F_θ(x_in, noise_labels, class_labels=None), small enough to train on a CPU.

The preconditioners of Table 1 (`VPPrecond`, `VEPrecond`, `iDDPMPrecond`,
`EDMPrecond`) wrap a raw network F_θ into a denoiser
D_θ(x; σ) = c_skip(σ)·x + c_out(σ)·F_θ(c_in(σ)·x; c_noise(σ))   (Eq. 7).
The two networks here follow the protocol the paper's networks follow:
``model(x_in, noise_labels, class_labels=None)`` returns a tensor shaped like
``x_in``, and the noise label c_noise(σ) enters through an embedding, as in
DDPM++ and ADM (App. B.6, F.2 of the paper describe the real ones):

* `MLP`: for vectors [B, D] (or any [B, ...], flattened): a residual MLP whose
  blocks each receive the embedded noise label;
* `UNet`: for images [B, C, H, W] with even H and W (the 8×8 digits): a
  two-resolution convolutional U-Net with residual blocks, group norm and the
  noise embedding added in every block.

Both draw their initial weights from a `generator`, so a seed fixes them bit
for bit.  Their last layer starts at zero, so F_θ = 0 and D_θ = c_skip·x at
initialisation.  `network_parameter_count` gives their sizes; the book's
chapters list them.
"""

from __future__ import annotations

import inspect
import math

import torch
from torch import nn
from torch.nn import functional as F

from ._validation import (
    check_choice,
    check_generator,
    check_integer,
    check_keywords,
    check_real,
    check_sequence,
    check_tensor,
)

EMBEDDINGS = ("positional", "fourier", "none")


def positional_embedding(
    noise_labels: torch.Tensor, num_channels: int, max_positions: int = 10_000
) -> torch.Tensor:
    """The sinusoidal embedding of DDPM++ and ADM: [cos(c f_k), sin(c f_k)] with f_k geometric.

    f_k = (1/max_positions)^(k/(½C − 1)) for k = 0 … ½C − 1, from 1 down to
    1/max_positions, so that both DDPM's time labels (0 … 999, Table 1's VP
    c_noise) and EDM's ¼ ln σ (about −1.5 … 1.1) are resolved.
    Returns [B, num_channels] for noise_labels [B].
    """
    noise_labels = _labels(noise_labels)
    num_channels = _even("num_channels", num_channels)
    max_positions = check_real("max_positions", max_positions, low=1.0, high=1e12)
    return _positional(noise_labels, num_channels, max_positions)


def _positional(
    noise_labels: torch.Tensor, num_channels: int, max_positions: float
) -> torch.Tensor:
    half = num_channels // 2
    k = torch.arange(half, dtype=torch.float32, device=noise_labels.device)  # [C/2]
    freqs = (1 / max_positions) ** (k / max(half - 1, 1))  # [C/2]
    angles = noise_labels.to(torch.float32)[:, None] * freqs[None, :]  # [B, C/2]
    return torch.cat([angles.cos(), angles.sin()], dim=1)  # [B, C]


def fourier_embedding(noise_labels: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
    """NCSN++'s random Fourier features [cos(2π f_k c), sin(2π f_k c)], f_k ~ N(0, 16²).

    Returns [B, 2K] for noise_labels [B] and freqs [K].
    """
    noise_labels = _labels(noise_labels)
    freqs = check_tensor("freqs", freqs, min_ndim=1, max_ndim=1).to(noise_labels.device)
    return _fourier(noise_labels, freqs)


def _fourier(noise_labels: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
    angles = 2 * math.pi * noise_labels.to(torch.float32)[:, None] * freqs[None, :]  # [B, K]
    return torch.cat([angles.cos(), angles.sin()], dim=1)  # [B, 2K]


def _labels(noise_labels: object, batch: int | None = None) -> torch.Tensor:
    """Noise labels c_noise [B] (finite); one label for the whole batch is expanded to [B]."""
    labels = check_tensor("noise_labels", noise_labels, min_ndim=0, max_ndim=1).reshape(-1)
    if batch is not None and labels.numel() == 1:
        labels = labels.expand(batch)
    if batch is not None and labels.shape != (batch,):
        raise ValueError(
            f"noise_labels must hold one label per sample ({batch}), got {labels.numel()}"
        )
    return labels


def _even(name: str, value: object) -> int:
    value = check_integer(name, value, 2, 4096)
    if value % 2:
        raise ValueError(f"{name} must be even (cosines and sines), got {value}")
    return value


def _init_(layer: nn.Linear | nn.Conv2d, generator: torch.Generator | None, zero: bool) -> None:
    """Uniform(−1/√fan_in, 1/√fan_in) weights and biases drawn from `generator` (PyTorch's
    default scale, made reproducible), or zeros for a layer that must start at zero."""
    fan_in = layer.weight[0].numel()
    bound = 0.0 if zero else 1 / math.sqrt(fan_in)
    with torch.no_grad():
        for p in (layer.weight, layer.bias):
            u = torch.rand(p.shape, generator=generator, dtype=p.dtype)
            p.copy_((2 * u - 1) * bound)


def _linear(n_in: int, n_out: int, generator, zero: bool = False) -> nn.Linear:
    layer = nn.Linear(n_in, n_out)
    _init_(layer, generator, zero)
    return layer


def _conv(n_in: int, n_out: int, generator, kernel: int = 3, stride: int = 1, zero=False):
    layer = nn.Conv2d(n_in, n_out, kernel, stride=stride, padding=kernel // 2)
    _init_(layer, generator, zero)
    return layer


class NoiseEmbedding(nn.Module):
    """c_noise → embedding → Linear → SiLU → Linear → SiLU: the mapping network of DDPM++.

    `kind` is 'positional' (DDPM++, ADM), 'fourier' (NCSN++, frequencies drawn
    from `generator` with standard deviation 16) or 'none': the network is not
    told σ at all (Chapter 5 asks what it can infer from x alone), and the
    embedding is a learned constant.
    """

    freqs: torch.Tensor

    def __init__(
        self,
        channels: int,
        out_channels: int,
        kind: str = "positional",
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        channels = _even("channels", channels)
        out_channels = check_integer("out_channels", out_channels, 1, 8192)
        kind = check_choice("kind", kind, EMBEDDINGS)
        generator = check_generator("generator", generator)
        self.kind, self.channels = kind, channels
        freqs = torch.randn(channels // 2, generator=generator) * 16 if kind == "fourier" else None
        self.register_buffer("freqs", freqs if freqs is not None else torch.zeros(0))
        self.map0 = _linear(channels, out_channels, generator)
        self.map1 = _linear(out_channels, out_channels, generator)

    def forward(self, noise_labels: torch.Tensor) -> torch.Tensor:
        """The embedding [B, out_channels] of noise labels [B]."""
        return self._forward(_labels(noise_labels))

    def _forward(self, noise_labels: torch.Tensor) -> torch.Tensor:
        if self.kind == "positional":
            emb = _positional(noise_labels, self.channels, 10_000)  # [B, C]
        elif self.kind == "fourier":
            emb = _fourier(noise_labels, self.freqs)  # [B, C]
        else:  # 'none': the same input at every σ
            emb = torch.zeros(len(noise_labels), self.channels, device=noise_labels.device)
        return F.silu(self.map1(F.silu(self.map0(emb))))  # [B, out_channels]


def _check_common(embedding: str, emb_channels: int, generator) -> tuple[str, int, object]:
    embedding = check_choice("embedding", embedding, EMBEDDINGS)
    emb_channels = _even("emb_channels", emb_channels)
    return embedding, emb_channels, check_generator("generator", generator)


def _check_call(
    name: str, x: object, noise_labels: object, class_labels: object, shape: tuple[int, ...]
) -> tuple[torch.Tensor, torch.Tensor]:
    """x of shape [B, *shape] (finite) and noise labels [B] (or one label for all)."""
    x = check_tensor("x", x, min_ndim=1)
    if tuple(x.shape[1:]) != shape and not (len(shape) == 1 and math.prod(x.shape[1:]) == shape[0]):
        raise ValueError(
            f"x must have shape [B, {', '.join(map(str, shape))}] for {name}, got {tuple(x.shape)}"
        )
    if class_labels is not None:
        raise ValueError(f"class_labels must be None: {name} is unconditional")
    return x, _labels(noise_labels, len(x)).to(x.device)


def _check_augment(augment_labels: object, augment_dim: int, x: torch.Tensor, name: str):
    """Augment labels [B, augment_dim] (non-leaky augmentation), or None."""
    if augment_labels is None:
        return None
    if augment_dim == 0:
        raise ValueError(f"augment_labels must be None: this {name} has augment_dim = 0")
    labels = check_tensor("augment_labels", augment_labels, min_ndim=2, max_ndim=2)
    if labels.shape != (len(x), augment_dim):
        raise ValueError(
            f"augment_labels must have shape [B, {augment_dim}] with B = {len(x)}, "
            f"got {tuple(labels.shape)}"
        )
    return labels.to(device=x.device, dtype=torch.float32)


def _augment_map(augment_dim: int, channels: int) -> nn.Linear | None:
    """The augment labels' share of the embedding: linear, no bias, zero at initialisation (so
    that a network starts, and samples with labels 0, as an unaugmented one)."""
    if augment_dim == 0:
        return None
    layer = nn.Linear(augment_dim, channels, bias=False)
    with torch.no_grad():
        layer.weight.zero_()
    return layer


def _embed(model: nn.Module, noise_labels: torch.Tensor, augment_labels) -> torch.Tensor:
    emb = model.embed._forward(noise_labels)
    if model.map_augment is not None and augment_labels is not None:
        emb = emb + model.map_augment(augment_labels)
    return emb


class MLP(nn.Module):
    """A residual MLP F_θ for samples with `dim` numbers each ([B, D], or [B, ...] flattened).

    h₀ = W_in x;  h_{k+1} = h_k + W₂ SiLU(W₁ SiLU(h_k) + A_k e);  F = W_out SiLU(h_L),
    with e the embedded noise label (`NoiseEmbedding`) and W_out zero at initialisation.

    With `logvar_channels` > 0 it also has EDM2's uncertainty head u(σ) (`logvar`, after EDM:
    Karras et al. 2024), which `training` learns with the uncertainty-weighted loss; it is
    built after every other layer, so that the rest draws the same initial weights.
    """

    def __init__(
        self,
        dim: int,
        width: int = 128,
        depth: int = 3,
        emb_channels: int = 32,
        embedding: str = "positional",
        augment_dim: int = 0,
        logvar_channels: int = 0,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        self.dim = check_integer("dim", dim, 1, 10**6)
        self.augment_dim = check_integer("augment_dim", augment_dim, 0, 64)
        self.logvar_channels = check_integer("logvar_channels", logvar_channels, 0, 4096)
        self.width = check_integer("width", width, 1, 8192)
        self.depth = check_integer("depth", depth, 0, 64)
        embedding, emb_channels, generator = _check_common(embedding, emb_channels, generator)
        self.embed = NoiseEmbedding(emb_channels, width, embedding, generator)
        self.inp = _linear(self.dim, width, generator)
        self.blocks = nn.ModuleList(
            nn.ModuleList(
                [
                    _linear(width, width, generator),  # W₁
                    _linear(width, width, generator),  # A_k: the noise embedding's share
                    _linear(width, width, generator),  # W₂
                ]
            )
            for _ in range(self.depth)
        )
        self.out = _linear(width, self.dim, generator, zero=True)
        self.map_augment = _augment_map(self.augment_dim, width)
        if self.logvar_channels:  # u(σ) = w·φ(c_noise) + b, φ: fixed Fourier features
            C = self.logvar_channels
            self.register_buffer("logvar_freqs", torch.randn(C, generator=generator))  # [C]
            self.register_buffer("logvar_phases", torch.rand(C, generator=generator))  # [C]
            self.logvar_linear = _linear(C, 1, generator, zero=True)  # u = 0 at initialisation

    def forward(
        self, x: torch.Tensor, noise_labels: torch.Tensor, class_labels=None, augment_labels=None
    ) -> torch.Tensor:
        """F_θ(x; c_noise), shaped like x [B, ...] (D numbers per sample)."""
        x, noise_labels = _check_call("MLP", x, noise_labels, class_labels, (self.dim,))
        augment_labels = _check_augment(augment_labels, self.augment_dim, x, "MLP")
        return self._forward(x, noise_labels, augment_labels)

    def logvar(self, noise_labels: torch.Tensor) -> torch.Tensor:
        """u(σ) [B] at the noise labels c_noise(σ) [B]: the log of the loss that EDM2's
        uncertainty-weighted loss expects at σ (its minimum over u is at e^u = that loss).

        A linear function of √2·cos(2π(f·c_noise + φ)) with fixed random f ~ N(0, 1) and
        φ ~ U(0, 1), as EDM2 embeds c_noise for u.  Only with `logvar_channels` > 0.
        """
        if not self.logvar_channels:
            raise ValueError("logvar_channels is 0: this MLP has no uncertainty head u(σ)")
        c_noise = check_tensor("noise_labels", noise_labels, min_ndim=0, float_dtype=torch.float32)
        return self._logvar(c_noise.reshape(-1))  # [B]

    def _logvar(self, c_noise: torch.Tensor) -> torch.Tensor:
        """u(σ) [B] without the checks, from c_noise [B] (training calls it inside vmap)."""
        c = c_noise.to(torch.float32).reshape(-1, 1)  # [B, 1]
        phi = math.sqrt(2) * torch.cos(2 * math.pi * (c * self.logvar_freqs + self.logvar_phases))
        return self.logvar_linear(phi).reshape(-1)  # [B]

    def _forward(
        self, x: torch.Tensor, noise_labels: torch.Tensor, augment_labels=None
    ) -> torch.Tensor:
        """F_θ without the checks (training calls this inside `torch.func.vmap`)."""
        shape = x.shape  # [B, ...]
        x = x.reshape(len(x), -1)  # [B, D]
        emb = _embed(self, noise_labels, augment_labels)  # [B, W]
        h = self.inp(x.to(torch.float32))  # [B, W]
        for w1, a, w2 in self.blocks:
            h = h + w2(F.silu(w1(F.silu(h)) + a(emb)))  # [B, W]
        return self.out(F.silu(h)).reshape(shape)  # [B, ...]


class _ResBlock(nn.Module):
    """GroupNorm → SiLU → conv, + the embedding, GroupNorm → SiLU → conv; a 1×1 skip if the
    channels change; the sum scaled by √½ (as DDPM++ scales its skips)."""

    def __init__(self, c_in: int, c_out: int, emb: int, groups: int, generator):
        super().__init__()
        self.norm0 = nn.GroupNorm(math.gcd(groups, c_in), c_in)
        self.conv0 = _conv(c_in, c_out, generator)
        self.affine = _linear(emb, c_out, generator)
        self.norm1 = nn.GroupNorm(math.gcd(groups, c_out), c_out)
        self.conv1 = _conv(c_out, c_out, generator)
        self.skip = _conv(c_in, c_out, generator, kernel=1) if c_in != c_out else None

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv0(F.silu(self.norm0(x)))  # [B, c_out, H, W]
        h = h + self.affine(emb)[:, :, None, None]
        h = self.conv1(F.silu(self.norm1(h)))
        skip = x if self.skip is None else self.skip(x)
        return (h + skip) * math.sqrt(0.5)


class UNet(nn.Module):
    """A small U-Net F_θ for images [B, C, H, W] (H, W even), e.g. the 8×8 digits.

    Two resolutions (H×W and H/2×W/2, with `channels` and 2·`channels`
    feature maps), one residual block per level on each side, one in the
    middle, skip connections by concatenation, and the noise embedding added
    in every block.  The output convolution starts at zero.
    """

    def __init__(
        self,
        in_channels: int = 1,
        image_size: int | tuple[int, int] = 8,
        channels: int = 32,
        emb_channels: int = 32,
        embedding: str = "positional",
        groups: int = 8,
        augment_dim: int = 0,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        self.in_channels = check_integer("in_channels", in_channels, 1, 64)
        self.augment_dim = check_integer("augment_dim", augment_dim, 0, 64)
        size = check_sequence(
            "image_size", [image_size] * 2 if isinstance(image_size, int) else image_size
        )
        if len(size) != 2:
            raise ValueError(f"image_size must be an integer or a pair (H, W), got {image_size!r}")
        self.image_size = tuple(check_integer("image_size", n, 2, 256) for n in size)
        if any(n % 2 for n in self.image_size):
            raise ValueError(f"image_size must be even (one downsampling), got {self.image_size}")
        c = self.channels = check_integer("channels", channels, 1, 1024)
        groups = check_integer("groups", groups, 1, 1024)
        embedding, emb_channels, generator = _check_common(embedding, emb_channels, generator)
        emb = 4 * c
        self.embed = NoiseEmbedding(emb_channels, emb, embedding, generator)
        self.conv_in = _conv(self.in_channels, c, generator)
        self.enc0 = _ResBlock(c, c, emb, groups, generator)  # H×W
        self.down = _conv(c, c, generator, stride=2)  # → H/2×W/2
        self.enc1 = _ResBlock(c, 2 * c, emb, groups, generator)
        self.mid = _ResBlock(2 * c, 2 * c, emb, groups, generator)
        self.dec1 = _ResBlock(4 * c, 2 * c, emb, groups, generator)
        self.up = _conv(2 * c, 2 * c, generator)  # after nearest-neighbour upsampling
        self.dec0 = _ResBlock(3 * c, c, emb, groups, generator)
        self.norm_out = nn.GroupNorm(math.gcd(groups, c), c)
        self.conv_out = _conv(c, self.in_channels, generator, zero=True)
        self.map_augment = _augment_map(self.augment_dim, emb)

    @property
    def dim(self) -> int:
        """Numbers per sample, C·H·W."""
        return self.in_channels * self.image_size[0] * self.image_size[1]

    def forward(
        self, x: torch.Tensor, noise_labels: torch.Tensor, class_labels=None, augment_labels=None
    ) -> torch.Tensor:
        """F_θ(x; c_noise) for images x [B, C, H, W]."""
        x, noise_labels = _check_call(
            "UNet", x, noise_labels, class_labels, (self.in_channels, *self.image_size)
        )
        augment_labels = _check_augment(augment_labels, self.augment_dim, x, "UNet")
        return self._forward(x, noise_labels, augment_labels)

    def _forward(
        self, x: torch.Tensor, noise_labels: torch.Tensor, augment_labels=None
    ) -> torch.Tensor:
        """F_θ without the checks (training calls this inside `torch.func.vmap`)."""
        emb = _embed(self, noise_labels, augment_labels)  # [B, 4c]
        h0 = self.enc0(self.conv_in(x.to(torch.float32)), emb)  # [B, c, H, W]
        h1 = self.enc1(self.down(h0), emb)  # [B, 2c, H/2, W/2]
        h = self.mid(h1, emb)  # [B, 2c, H/2, W/2]
        h = self.dec1(torch.cat([h, h1], dim=1), emb)  # [B, 2c, H/2, W/2]
        h = self.up(F.interpolate(h, scale_factor=2, mode="nearest"))  # [B, 2c, H, W]
        h = self.dec0(torch.cat([h, h0], dim=1), emb)  # [B, c, H, W]
        return self.conv_out(F.silu(self.norm_out(h)))  # [B, C, H, W]


NETWORKS = {"mlp": MLP, "unet": UNet}
#: The constructor arguments that `make_network` derives from the data's shape.
_SET_BY_SHAPE = ("dim", "in_channels", "image_size", "generator")


def make_network(
    network: str, shape: tuple[int, ...], generator: torch.Generator | None = None, **kwargs
) -> nn.Module:
    """The raw network `network` ('mlp' or 'unet') for samples of shape `shape` (without the batch).

    The MLP takes any shape (it flattens); the U-Net needs [C, H, W].
    """
    name = check_choice("network", network, tuple(NETWORKS))
    allowed = [k for k in inspect.signature(NETWORKS[name]).parameters if k not in _SET_BY_SHAPE]
    check_keywords(f"network_kwargs of {name!r}", kwargs, allowed)
    shape = tuple(
        check_integer("shape", n, 1, 10**6) for n in check_sequence("shape", shape, min_length=1)
    )
    if name == "mlp":
        return MLP(math.prod(shape), generator=generator, **kwargs)
    if len(shape) != 3:
        raise ValueError(
            f"shape must be (C, H, W) for the U-Net (images [B, C, H, W]), got {shape}"
        )
    return UNet(in_channels=shape[0], image_size=shape[1:], generator=generator, **kwargs)


def network_parameter_count(model: nn.Module) -> int:
    """The number of parameters (weights and biases) of a raw network, trained or frozen."""
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters())
