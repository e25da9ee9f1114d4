"""Numbers the paper reports, kept in one place so the book can glue them.

These cannot be re-measured on a laptop (they need the pretrained CIFAR-10 /
ImageNet networks and FID); the chapters quote them from here, next to what
the book measures itself, instead of typing them into the prose.  Source:
Karras et al. 2022, as collected in the project's EDM facts sheet.
"""

from .._validation import check_choice

#: Headline FIDs of the paper's final models (lower is better) and the NFE they use.
HEADLINE_FID = {
    "CIFAR-10 conditional": (1.79, 35),
    "CIFAR-10 unconditional": (1.97, 35),
    "FFHQ 64×64": (2.39, 79),
    "AFHQv2 64×64": (1.96, 79),
}

#: Deterministic sampling of pre-trained models: (FID, NFE) with the original
#: sampler and with the paper's sampler (Sec. 3, Fig. 2).
DETERMINISTIC_SAMPLER = {
    "VP (CIFAR-10)": {"original": (2.85, 256), "edm": (2.93, 35)},
    "VE (CIFAR-10)": {"original": (5.45, 8192), "edm": (3.73, 27)},
    "iDDPM/DDIM (ImageNet-64)": {"original": (2.85, 250), "edm": (2.64, 79)},
}

#: ImageNet-64: pre-trained ADM with its own sampler, with the EDM stochastic
#: sampler, and retrained with EDM's preconditioning and training (511 NFE).
IMAGENET64_FID = {"ADM original": 2.07, "ADM + EDM sampler": 1.55, "EDM retrained": 1.36}


#: Table 5: the tuned settings of the stochastic sampler (Algorithm 2) per model,
#: as (S_churn, S_tmin, S_tmax, S_noise).
TABLE5 = {
    "CIFAR-10 VP": (30, 0.01, 1, 1.007),
    "CIFAR-10 VE": (80, 0.05, 1, 1.007),
    "ImageNet-64 ADM": (80, 0.05, 50, 1.003),
    "ImageNet-64 EDM-trained": (40, 0.05, 50, 1.003),
}


#: Table 2: the training ablation, FID with the deterministic sampler, per configuration:
#: A baseline, B adjusted hyperparameters, C redistributed capacity, D EDM preconditioning,
#: E EDM loss (λ and p_train), F non-leaky augmentation; each row adds its change to the
#: row above.  Only entries the facts sheet confirms are listed: CIFAR-10 conditional VP,
#: rows A, E and F of CIFAR-10 conditional VE (its rows B–D are unconfirmed), and FFHQ 64×64
#: VE at A and D.
TABLE2_ROWS = {
    "A": "baseline",
    "B": "adjusted hyperparameters",
    "C": "redistributed capacity",
    "D": "EDM preconditioning",
    "E": "EDM loss function",
    "F": "non-leaky augmentation",
}
TABLE2_FID = {
    "CIFAR-10 conditional VP": {"A": 2.48, "B": 2.18, "C": 2.08, "D": 2.09, "E": 1.88, "F": 1.79},
    "CIFAR-10 conditional VE": {"A": 3.11, "E": 1.86, "F": 1.79},
    "FFHQ 64×64 VE": {"A": 25.95, "D": 3.39},
}


def speedup(model: str) -> float:
    """NFE of the original sampler divided by NFE of the paper's sampler for `model`
    (a key of `DETERMINISTIC_SAMPLER`)."""
    entry = DETERMINISTIC_SAMPLER[check_choice("model", model, DETERMINISTIC_SAMPLER)]
    return entry["original"][1] / entry["edm"][1]
