"""Non-leaky augmentation: exact, invertible transforms whose labels reach the network.

What is proved here: `invert` undoes `AugmentPipe` bit for bit; untouched images have label
0 and p = 0 changes nothing; the draws come from the given generator; a network told
augment labels starts (zero map) and samples (labels None) as an unaugmented one; the
losses' `augment_pipe` protocol and the training loop pass the labels through; bad input is
named.
"""

from __future__ import annotations

import pytest
import torch
from helpers import raises_naming

from edm_src import losses, networks, preconditioning, training
from edm_src.augment import AUGMENT_DIM, AugmentPipe, invert


def images(n=64, seed=0):
    return torch.randn(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


def test_invert_undoes_the_pipe_exactly():
    """invert(pipe(x)) == x bit for bit, for flips and every rotation; labels are (flip, sin θ,
    1 − cos θ), all zero exactly where the image is untouched."""
    x = images()
    y, labels = AugmentPipe(0.7)(x, generator=torch.Generator().manual_seed(1))
    assert labels.shape == (64, AUGMENT_DIM)
    assert torch.equal(invert(y, labels), x)
    untouched = (labels == 0).all(dim=1)
    assert untouched.any() and (~untouched).any()
    assert torch.equal(y[untouched], x[untouched])
    assert not torch.equal(y[~untouched], x[~untouched])
    quarter_labels = {tuple(row.tolist()[1:]) for row in labels}
    assert quarter_labels <= {(0.0, 0.0), (1.0, 1.0), (0.0, 2.0), (-1.0, 1.0)}


def test_p_zero_is_the_identity_and_p_one_transforms_all():
    """p = 0: images unchanged and labels 0; p = 1: every image flipped and rotated."""
    x = images()
    y, labels = AugmentPipe(0.0)(x, generator=torch.Generator().manual_seed(2))
    assert torch.equal(y, x) and (labels == 0).all()
    _, labels = AugmentPipe(1.0)(x, generator=torch.Generator().manual_seed(2))
    assert (labels[:, 0] == 1).all() and (labels[:, 1:].abs().sum(dim=1) > 0).all()


def test_the_draws_come_from_the_generator():
    """The same seed gives the same augmentation; the pipe's own generator is used otherwise."""
    x = images()
    a = AugmentPipe(0.5)(x, generator=torch.Generator().manual_seed(3))
    b = AugmentPipe(0.5)(x, generator=torch.Generator().manual_seed(3))
    c = AugmentPipe(0.5, generator=torch.Generator().manual_seed(3))(x)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], c[1])


@pytest.mark.parametrize("network", ["mlp", "unet"])
def test_a_told_network_starts_and_samples_as_an_untold_one(network):
    """With the augment map at zero, labels change nothing; labels None act as "no augmentation"
    (zero labels) after training too."""
    kwargs = dict(width=16, depth=1, emb_channels=8) if network == "mlp" else dict(channels=8)
    g = torch.Generator().manual_seed(0)
    model = networks.make_network(network, (1, 8, 8), generator=g, augment_dim=3, **kwargs)
    torch.nn.init.normal_(model.map_augment.weight, generator=g)
    last = model.out if network == "mlp" else model.conv_out
    torch.nn.init.normal_(last.weight, generator=g)
    x, c = images(4), torch.zeros(4)
    zero = model(x, c, augment_labels=torch.zeros(4, 3))
    assert torch.equal(model(x, c), zero)
    assert not torch.equal(model(x, c, augment_labels=torch.ones(4, 3)), zero)


def test_losses_and_training_pass_the_labels_through():
    """EDMLoss with augment_pipe runs with a network told the labels; a training run with
    augment_p > 0 is deterministic and differs from one without augmentation."""
    model = networks.make_network("mlp", (1, 8, 8), augment_dim=3, width=16, depth=1)
    net = preconditioning.EDMPrecond(model)
    loss = losses.EDMLoss()(net, images(8), augment_pipe=AugmentPipe(0.5))
    assert loss.shape == (8, 1, 8, 8)
    run = dict(steps=5, batch_size=16, network_kwargs=dict(width=16, depth=1, augment_dim=3))
    a = training.train(images(), cache=False, progress=False, augment_p=0.5, **run)
    b = training.train(images(), cache=False, progress=False, augment_p=0.5, **run)
    c = training.train(images(), cache=False, progress=False, **run)
    assert torch.equal(a.history["loss"], b.history["loss"])
    assert not torch.equal(a.history["loss"], c.history["loss"])


def test_bad_augmentation_is_named():
    """A network without augment labels, non-square data, p outside [0, 1], mismatched labels."""
    run = dict(steps=2, batch_size=4, cache=False, progress=False)
    with raises_naming("augment_p"):
        training.train(images(), augment_p=0.5, **run)
    with raises_naming("data"):
        training.train(
            torch.zeros(8, 1, 8, 6), augment_p=0.5, network_kwargs=dict(augment_dim=3), **run
        )
    with raises_naming("p"):
        AugmentPipe(1.5)
    with raises_naming("images"):
        AugmentPipe()(torch.zeros(2, 1, 8, 6))
    with raises_naming("augment_labels"):
        invert(images(2), torch.zeros(3, 3))
    with raises_naming("augment_labels"):
        networks.MLP(64, width=8, depth=1)(
            images(2), torch.zeros(2), augment_labels=torch.zeros(2, 3)
        )
