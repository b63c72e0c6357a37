"""Published exponents a report puts next to the fitted ones.

Hestness et al. (2017, "Deep Learning Scaling is Predictable, Empirically", arXiv:1712.00409):
learning-curve exponents β_g of the power-law region, per domain (their Table 1 / Sec. 4).
Hoffmann et al. (2022, arXiv:2203.15556) and the replication of Besiroglu et al. (2024,
arXiv:2404.10102): the Chinchilla law's α, β and the allocation exponents a, b.
"""

from __future__ import annotations

HESTNESS_BETA_G: dict[str, float] = {
    "word LM": -0.066,
    "char LM": -0.094,
    "NMT": -0.128,
    "ImageNet top-1": -0.309,
    "speech": -0.299,
}

# Which Hestness domain a built-in task stands in for (DESIGN.md, "Built-in tasks").
TASK_DOMAIN: dict[str, str] = {
    "image": "ImageNet top-1",
    "lm": "char LM",
    "translation": "NMT",
    "speech": "speech",
}

# (source, alpha, beta, a, b) of L = E + A/N^α + B/D^β and N_opt ∝ C^a, D_opt ∝ C^b.
CHINCHILLA_PUBLISHED: list[tuple[str, float, float, float, float]] = [
    ("Hoffmann et al. 2022, Approach 3", 0.34, 0.28, 0.46, 0.54),
    ("Hoffmann et al. 2022, Approach 2 (IsoFLOP)", float("nan"), float("nan"), 0.49, 0.51),
    ("Besiroglu et al. 2024 (replication)", 0.348, 0.366, 0.513, 0.487),
]
