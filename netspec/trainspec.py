"""Placeholder: the train-section checker is being written."""
from __future__ import annotations
from dataclasses import dataclass
from typing import Any

@dataclass
class TrainPlan:
    network: str

def plan_training(program: Any, networks: Any, env: Any, diags: Any) -> dict[str, TrainPlan]:
    return {}
