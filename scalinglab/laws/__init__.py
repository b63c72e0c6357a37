"""The law library. Every law is a ScalingLaw registered by name; see `available_laws()`."""

from scalinglab.laws.base import Param, ScalingLaw, available_laws, get_law
from scalinglab.laws.chinchilla import Chinchilla
from scalinglab.laws.kaplan import KaplanC, KaplanD, KaplanN, KaplanND
from scalinglab.laws.power import PowerLaw, PowerLawConst

__all__ = [
    "Chinchilla",
    "KaplanC",
    "KaplanD",
    "KaplanN",
    "KaplanND",
    "Param",
    "PowerLaw",
    "PowerLawConst",
    "ScalingLaw",
    "available_laws",
    "get_law",
]
