"""The block the next call runs in: the model's twin of block.timestamp."""
from dataclasses import dataclass

ZERO_ADDRESS = "0x" + "0" * 40


@dataclass
class Env:
    timestamp: int = 0
