"""Variational solving of a QUBO on qiskit-aer: the loop shared by QAOA and VQE.

A parameterised circuit is transpiled once for ``AerSimulator`` (Sampler V2 needs
transpiled circuits); COBYLA (scipy) then tunes its parameters to minimise the CVaR of
the QUBO energy (``alpha = 1`` is the plain expectation; Barkoutsos et al. 2020).

* statevector mode (``shots=None``): each evaluation saves the exact basis-state
  probabilities (``save_probabilities``) and takes the CVaR over all ``2^n`` energies;
* shot mode: each evaluation runs the measured circuit through qiskit-aer's
  ``SamplerV2`` with ``shots`` shots and takes the CVaR of the sampled energies.

The answer is read out by measuring the tuned circuit ``readout_shots`` times (drawn
from the exact distribution in statevector mode) and keeping the lowest-cost feasible
bitstring; the probability of the exact optimum is reported alongside.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import minimize

from sigmax.errors import UnavailableError
from sigmax.portfolio.problem import SelectionProblem
from sigmax.portfolio.qubo import QUBO, basis_bits

MAX_QUBITS = 24


class QuantumDeadline(UnavailableError, TimeoutError):
    """The quantum solve ran past its deadline; ``evaluations`` were done by then."""

    def __init__(self, message: str, evaluations: int, elapsed_s: float) -> None:
        super().__init__(message)
        self.evaluations = evaluations
        self.elapsed_s = elapsed_s


@dataclass
class QuantumRun:
    """What one QAOA/VQE solve did and found."""

    method: str
    x: np.ndarray | None  # best feasible bitstring read out; None if none was feasible
    cost: float | None  # selection objective f(x)
    energy: float | None  # QUBO energy of x
    p_optimum: float | None  # probability of measuring the exact optimum
    p_feasible: float
    most_likely: str  # bitstring, qubit 0 leftmost (= asset order)
    qubits: int
    depth: int
    parameters: int
    shots: int | None
    readout_shots: int
    iterations: int
    final_objective: float
    runtime_s: float
    cvar_alpha: float
    warm_start: bool
    device: str
    qasm: str
    drawing: str
    notes: list[str] = field(default_factory=list)


def aer_device(requested: str) -> tuple[str, str | None]:
    """The Aer device to use and, when a GPU was asked for but is absent, why not."""
    from qiskit_aer import AerSimulator

    available = tuple(AerSimulator().available_devices())
    if requested == "GPU" and "GPU" not in available:
        return "CPU", (
            f"GPU requested but this qiskit-aer offers devices {available}: install the "
            "qiskit-aer-gpu build (CUDA) for GPU simulation; ran on CPU"
        )
    return requested, None


def cvar(energies: np.ndarray, probs: np.ndarray, alpha: float) -> float:
    """Mean energy of the lowest ``alpha`` share of the probability mass."""
    total = probs.sum()
    if total <= 0:
        raise ValueError("empty distribution")
    if alpha >= 1.0:
        return float(energies @ probs / total)
    order = np.argsort(energies, kind="stable")
    e, p = energies[order], probs[order] / total
    cum = np.cumsum(p)
    take = np.minimum(p, np.maximum(alpha - (cum - p), 0.0))
    return float(e @ take / alpha)


def _bits_string(bits: np.ndarray) -> str:
    return "".join(str(int(b)) for b in bits)


class _Engine:
    """One transpiled circuit on one Aer simulator, evaluated at parameter vectors."""

    def __init__(self, circuit: Any, qubo: QUBO, shots: int | None, seed: int, device: str) -> None:
        from qiskit import transpile
        from qiskit_aer import AerSimulator

        self.n = qubo.n
        self.qubo = qubo
        self.shots = shots
        self.seed = seed
        self.params = list(circuit.parameters)
        self.device = device
        if shots is None:
            self.sim = AerSimulator(method="statevector", device=device, seed_simulator=seed)
            prepared = circuit.copy()
            prepared.save_probabilities(label="probs")
            self.circuit = transpile(prepared, self.sim, optimization_level=1)
            self.energies = qubo.all_energies()
        else:
            from qiskit_aer.primitives import SamplerV2

            self.sim = AerSimulator(device=device, seed_simulator=seed)
            measured = circuit.measure_all(inplace=False)
            self.circuit = transpile(measured, self.sim, optimization_level=1)
            self.sampler = SamplerV2(
                default_shots=shots, seed=seed, options={"backend_options": {"device": device}}
            )

    def _bind(self, theta: np.ndarray) -> dict[Any, list[float]]:
        return {p: [float(v)] for p, v in zip(self.params, theta, strict=True)}

    def distribution(
        self, theta: np.ndarray, shots: int | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(basis indices, their energies, probabilities or frequencies)."""
        if self.shots is None:
            result = self.sim.run(self.circuit, parameter_binds=[self._bind(theta)]).result()
            probs = np.asarray(result.data(0)["probs"], dtype=float)
            return np.arange(probs.shape[0]), self.energies, probs
        values = np.asarray([theta[self.params.index(p)] for p in self.circuit.parameters])
        pub = (self.circuit, values)
        job = self.sampler.run([pub], shots=shots or self.shots)
        counts = job.result()[0].data.meas.get_int_counts()
        keys = np.fromiter(counts.keys(), dtype=np.int64)
        freq = np.fromiter(counts.values(), dtype=float)
        bits = ((keys[:, None] >> np.arange(self.n)) & 1).astype(np.int8)
        return keys, self.qubo.energy(bits), freq / freq.sum()


def run_variational(
    method: str,
    circuit: Any,
    theta0: np.ndarray,
    qubo: QUBO,
    problem: SelectionProblem,
    *,
    shots: int | None,
    readout_shots: int,
    cvar_alpha: float,
    maxiter: int,
    seed: int,
    deadline: float | None,
    warm_start: bool,
    device: str = "CPU",
    optimum: np.ndarray | None = None,
    notes: list[str] | None = None,
) -> QuantumRun:
    """Tune ``circuit`` with COBYLA from ``theta0`` and read out the best bitstring.

    ``deadline`` is a ``time.monotonic()`` instant; past it :class:`QuantumDeadline` is
    raised from inside the optimiser loop.
    """
    if qubo.n > MAX_QUBITS:
        raise ValueError(f"{qubo.n} qubits: simulation here is limited to {MAX_QUBITS}")
    start = time.perf_counter()
    device, note = aer_device(device)
    notes = list(notes or [])
    if note:
        notes.append(note)
    engine = _Engine(circuit, qubo, shots, seed, device)
    evaluations = 0

    def objective(theta: np.ndarray) -> float:
        nonlocal evaluations
        if deadline is not None and time.monotonic() > deadline:
            raise QuantumDeadline(
                f"{method} passed its deadline after {evaluations} circuit evaluations",
                evaluations, time.perf_counter() - start,
            )  # fmt: skip
        evaluations += 1
        _, energies, probs = engine.distribution(theta)
        return cvar(energies, probs, cvar_alpha)

    budget = max(maxiter, len(theta0) + 2)  # COBYLA needs at least n + 2 evaluations
    res = minimize(objective, theta0, method="COBYLA", options={"maxiter": budget, "rhobeg": 0.3})
    theta = np.asarray(res.x)
    # readout
    rng = np.random.default_rng(seed)
    if shots is None:
        _, energies, probs = engine.distribution(theta)
        sample = rng.choice(probs.shape[0], size=readout_shots, p=probs / probs.sum())
        keys, counts = np.unique(sample, return_counts=True)
        all_probs = probs
    else:
        keys, _, freq = engine.distribution(theta, shots=readout_shots)
        counts = np.rint(freq * readout_shots)
        all_probs = None
    bits = ((keys[:, None] >> np.arange(qubo.n)) & 1).astype(np.int8)
    feasible = bits.sum(axis=1) == problem.budget
    costs = problem.cost(bits)
    p_feasible = float(counts[feasible].sum() / counts.sum())
    if all_probs is not None:
        all_bits = basis_bits(qubo.n)
        p_feasible = float(all_probs[all_bits.sum(axis=1) == problem.budget].sum())
    x = cost = energy = None
    if feasible.any():
        idx = np.flatnonzero(feasible)[np.argmin(costs[feasible])]
        x, cost, energy = bits[idx], float(costs[idx]), float(qubo.energy(bits[idx]))
    p_opt: float | None = None
    if optimum is not None:
        key = int((np.asarray(optimum, dtype=np.int64) << np.arange(qubo.n)).sum())
        if all_probs is not None:
            p_opt = float(all_probs[key])
        else:
            hit = keys == key
            p_opt = float(counts[hit].sum() / counts.sum())
    top = keys[np.argmax(counts)] if all_probs is None else int(np.argmax(all_probs))
    most_likely = _bits_string((int(top) >> np.arange(qubo.n)) & 1)
    from qiskit import qasm3

    final = circuit.assign_parameters(dict(zip(engine.params, theta, strict=True)))
    final.measure_all()
    return QuantumRun(
        method=method, x=x, cost=cost, energy=energy, p_optimum=p_opt, p_feasible=p_feasible,
        most_likely=most_likely, qubits=qubo.n, depth=int(engine.circuit.depth()),
        parameters=len(engine.params), shots=shots, readout_shots=readout_shots,
        iterations=evaluations, final_objective=float(res.fun),
        runtime_s=time.perf_counter() - start, cvar_alpha=cvar_alpha, warm_start=warm_start,
        device=device, qasm=qasm3.dumps(final), drawing=str(final.draw("text", fold=-1)),
        notes=notes,
    )  # fmt: skip


def warm_start_angles(relaxed: np.ndarray, epsilon: float) -> np.ndarray:
    """Egger et al. (2021): ``c_i`` clipped to ``[eps, 1 - eps]``, ``theta_i = 2 asin(sqrt c_i)``
    so that ``RY(theta_i)|0>`` measures 1 with probability ``c_i``."""
    c = np.clip(relaxed, epsilon, 1.0 - epsilon)
    return np.asarray(2.0 * np.arcsin(np.sqrt(c)))
