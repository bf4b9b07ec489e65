"""QAOA for the selection QUBO, optionally warm-started (Egger, Marecek & Woerner 2021)."""

from __future__ import annotations

from typing import Any

import numpy as np

from sigmax.portfolio.qubo import Ising


def qaoa_circuit(ising: Ising, layers: int, warm: np.ndarray | None = None) -> Any:
    """``p = layers`` rounds of ``exp(-i gamma H_C)`` then the mixer.

    Cold start: ``|+>^n`` and the ``RX(2 beta)`` mixer. Warm start with angles ``theta``:
    ``RY(theta_i)|0>`` (the relaxed solution as a product state) and the mixer
    ``RY(theta_i) RZ(-2 beta) RY(-theta_i)`` whose ground state that product state is.
    Hamiltonian coefficients are divided by their largest magnitude so ``gamma`` has the
    same useful range at any scale of the problem (the minimiser is unchanged).
    """
    from qiskit import QuantumCircuit
    from qiskit.circuit import ParameterVector

    n = ising.h.shape[0]
    scale = max(float(np.abs(ising.h).max()), float(np.abs(ising.j).max()), 1e-300)
    h, j = ising.h / scale, ising.j / scale
    gamma = ParameterVector("gamma", layers)
    beta = ParameterVector("beta", layers)
    qc = QuantumCircuit(n, name="qaoa")
    for i in range(n):
        if warm is None:
            qc.h(i)
        else:
            qc.ry(float(warm[i]), i)
    for layer in range(layers):
        for i in range(n):
            if h[i] != 0.0:
                qc.rz(2.0 * gamma[layer] * float(h[i]), i)
        for a in range(n):
            for b in range(a + 1, n):
                if j[a, b] != 0.0:
                    qc.rzz(2.0 * gamma[layer] * float(j[a, b]), a, b)
        for i in range(n):
            if warm is None:
                qc.rx(2.0 * beta[layer], i)
            else:
                qc.ry(-float(warm[i]), i)
                qc.rz(-2.0 * beta[layer], i)
                qc.ry(float(warm[i]), i)
    return qc


def qaoa_initial_point(layers: int, delta: float = 0.6) -> np.ndarray:
    """A linear ramp (annealing-like) start: gamma grows, beta shrinks; ordered like
    the circuit's sorted parameters (``beta[0..p-1]``, then ``gamma[0..p-1]``)."""
    k = (np.arange(layers) + 0.5) / layers
    return np.concatenate([(1.0 - k) * delta, k * delta])
