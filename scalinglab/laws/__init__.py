"""The law library. Every law is a ScalingLaw registered by name; see `available_laws()`."""

from scalinglab.laws.alabdulmohsin import M1, M2, M3, M4
from scalinglab.laws.averaged import AveragedLaw
from scalinglab.laws.base import Param, ScalingLaw, available_laws, get_law
from scalinglab.laws.bnsl import BNSL
from scalinglab.laws.chinchilla import Chinchilla
from scalinglab.laws.coverage import PassAtK, PassAtKCompute
from scalinglab.laws.data_constrained import DataConstrained
from scalinglab.laws.elo import EloLaw, elo_difference, elo_from_win_rate, win_rate
from scalinglab.laws.encoder_decoder import EncoderDecoder
from scalinglab.laws.formula import FormulaLaw
from scalinglab.laws.hestness import Hestness
from scalinglab.laws.joint import JointFormulaLaw
from scalinglab.laws.jones import JonesFrontier, JonesTradeoff
from scalinglab.laws.kaplan import KaplanC, KaplanD, KaplanN, KaplanND
from scalinglab.laws.power import PowerLaw, PowerLawConst
from scalinglab.laws.transfer import Transfer
from scalinglab.laws.vit import ViT

__all__ = [
    "BNSL",
    "M1",
    "M2",
    "M3",
    "M4",
    "AveragedLaw",
    "Chinchilla",
    "DataConstrained",
    "EloLaw",
    "EncoderDecoder",
    "FormulaLaw",
    "Hestness",
    "JointFormulaLaw",
    "JonesFrontier",
    "JonesTradeoff",
    "KaplanC",
    "KaplanD",
    "KaplanN",
    "KaplanND",
    "Param",
    "PassAtK",
    "PassAtKCompute",
    "PowerLaw",
    "PowerLawConst",
    "ScalingLaw",
    "Transfer",
    "ViT",
    "available_laws",
    "elo_difference",
    "elo_from_win_rate",
    "get_law",
    "win_rate",
]
