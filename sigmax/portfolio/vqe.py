"""Sampling VQE: a hardware-efficient ``real_amplitudes`` ansatz under a CVaR objective."""

from __future__ import annotations

from typing import Any

import numpy as np


def vqe_ansatz(n: int, reps: int) -> Any:
    """``RY`` layers with linear CX entanglers (``qiskit.circuit.library.real_amplitudes``):
    ``n (reps + 1)`` parameters, only real amplitudes (enough for a diagonal Hamiltonian)."""
    from qiskit.circuit.library import real_amplitudes

    return real_amplitudes(n, reps=reps, entanglement="reverse_linear", parameter_prefix="t")


def vqe_initial_point(n: int, reps: int, warm: np.ndarray | None) -> np.ndarray:
    """All rotations zero except the last ``RY`` layer: the state before that layer is
    ``|0...0>`` (CX acts trivially on it), so the start is exactly the product state
    ``RY(theta_i)|0>`` — the relaxed solution when warm, ``|+>^n`` (angle pi/2) when cold."""
    theta = np.zeros(n * (reps + 1))
    theta[reps * n :] = np.pi / 2.0 if warm is None else warm
    return theta
