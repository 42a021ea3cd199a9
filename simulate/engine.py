"""The one simulation engine: minibatch SGD on batched replicas, for every model and data regime.

A model plugs in through :class:`Model`, for one group of R replicas whose parameters θ are a tensor (R, K):

* ``init()`` — θ_0;
* ``chunks()`` — the batches of all T steps, grouped in chunks of pre-drawn random numbers (each chunk a
  sequence of per-step batches; the per-replica generators are called once per chunk, not once per step);
* ``gradient(θ, batch)`` — the batch-mean gradient g of the per-sample loss ½(f − y)² (no ridge) and the
  batch loss (1/B) Σ_b (f(x_b) − y_b)² of every replica, shape (R,);
* ``evaluate(θ)`` — at the recorded steps only: a monitor of shape (R,) (the expected batch loss at θ: the
  train loss on a fixed training set, the population risk online) and the exact quantities to record;
* ``ridge_anchor`` — the ridge acts on θ + anchor (None: on θ), for models whose state is an offset of the
  weights (the linear online model trains the error e = w − w*).

The engine applies the optimiser (docs/theory.md §1): with g_s = g + γ (θ + anchor), heavy-ball momentum
b_s = β b_{s−1} + g_s (b_{−1} = 0) and the step sizes η_s of the schedule, θ ← θ − η_s b_s (Nesterov:
θ ← θ − η_s (g_s + β b_s)); plain SGD (β = 0, constant η) is θ ← θ − η g_s.  It also applies the one
divergence rule: a replica diverges at the first step where its batch loss, or at a recorded step its
monitor, is non-finite or beyond ``DIVERGENCE_FACTOR`` × the monitor at step 0.  Flags are kept on the
device (no host synchronisation inside a chunk); a diverged replica stops moving at once (its step size is
0) and is reset to θ = 0 (and b = 0) at the end of the chunk, so its arithmetic stays finite; its recorded values are NaN
from the divergence step on.  When every replica has diverged, training stops (one host sync per chunk).

On CPU the next chunk of random numbers is drawn by a background thread while the current one trains
(:func:`prefetched`): drawing normals is serial, so on two or more cores the loop runs at about the speed of its
random-number generation.  Only that thread calls the generators, in the same order, so the numbers are those of
a serial run.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol, TypeVar

import torch

from twopoint.core.curves import Curves
from twopoint.core.problem import Problem
from twopoint.simulate.groups import PREFETCH_AHEAD, run_in_groups
from twopoint.simulate.recorder import Recorder

Batch = object  # whatever a model's ``chunks`` yields per step and its ``gradient`` reads


class Model(Protocol):
    """One replica group of a trainable model (see the module docstring)."""

    quantities: tuple[str, ...]
    ridge_anchor: torch.Tensor | None

    def init(self) -> torch.Tensor: ...

    def chunks(self) -> Iterator[Sequence[Batch]]: ...

    def gradient(self, theta: torch.Tensor, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]: ...

    def evaluate(self, theta: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]: ...


def chunk_steps(replicas: int, per_step: int, chunk_mib: int, total: int) -> int:
    """Steps per chunk so that one chunk of pre-drawn numbers (``per_step`` float32 per replica) takes about
    ``chunk_mib`` MiB."""
    return max(1, min(total, (chunk_mib * 2**20) // (4 * replicas * per_step)))


T = TypeVar("T")
_DONE = object()


def prefetched(items: Iterable[T], ahead: int = PREFETCH_AHEAD) -> Iterator[T]:
    """The items of ``items``, produced by a background thread up to ``ahead`` items in advance.

    An exception in the producer is raised here, at the item where it occurred.  Closing the iterator early (a
    ``break`` in the consumer) lets the producer finish its current item and stop.
    """
    slots: queue.Queue = queue.Queue(maxsize=ahead)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                slots.put((item, None))
        except BaseException as err:  # handed to the consumer
            slots.put((None, err))
        slots.put((_DONE, None))

    worker = threading.Thread(target=produce, name="twopoint-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item, err = slots.get()
            if err is not None:
                raise err
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                slots.get(timeout=0.01)
            except queue.Empty:
                pass


def train(problem: Problem, model: Model, bar) -> Recorder:
    """Run ``optim.steps`` steps of minibatch SGD on ``model``; the recorder holds the curves and divergence."""
    opt = problem.optim
    theta = model.init()
    rec = Recorder(problem.record_steps, theta.shape[0], model.quantities, theta.device)
    monitor, values = model.evaluate(theta)
    rec.observe(0, monitor)
    rec.record(0, **values)
    step_size = None if opt.multipliers is None else opt.step_sizes.tolist()
    velocity = torch.zeros_like(theta) if opt.momentum else None
    step = 0
    chunks = model.chunks()
    for chunk in prefetched(chunks) if theta.device.type == "cpu" else chunks:
        for batch in chunk:
            grad, batch_loss = model.gradient(theta, batch)
            if opt.ridge:
                grad = grad + opt.ridge * (theta if model.ridge_anchor is None else theta + model.ridge_anchor)
            if velocity is not None:
                velocity = opt.momentum * velocity + grad
                grad = grad + opt.momentum * velocity if opt.nesterov else velocity
            lr = opt.lr if step_size is None else step_size[step]
            rate = lr * rec.alive.to(theta.dtype)  # a diverged replica stops moving
            theta = theta - rate[:, None] * grad
            step += 1
            rec.observe(step, batch_loss)
            if rec.wants(step):
                monitor, values = model.evaluate(theta)
                rec.observe(step, monitor)
                rec.record(step, **values)
        theta = theta.masked_fill(~rec.alive[:, None], 0.0)
        if velocity is not None:
            velocity = velocity.masked_fill(~rec.alive[:, None], 0.0)
        bar.update(len(chunk))
        if not bool(rec.alive.any()):
            break
    return rec


class Chunk(Sequence):
    """``n`` steps whose batches are made on demand by ``make(i)`` (e.g. slices of one chunk of pre-drawn
    numbers, cast to the working dtype only when used)."""

    def __init__(self, n: int, make: Callable[[int], Batch]):
        self.n, self.make = n, make

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> Batch:
        if not 0 <= i < self.n:
            raise IndexError(i)
        return self.make(i)

    def __iter__(self) -> Iterator[Batch]:
        return map(self.make, range(self.n))


ModelFactory = Callable[[Problem, range, torch.device, torch.dtype], Model]


def simulate_sgd(problem: Problem, make_model: ModelFactory, bytes_per_replica: Callable[[torch.dtype], int],
                 method: str) -> Curves:
    """Train ``make_model(problem, group, device, dtype)`` with :func:`train`, one replica group at a time."""

    def run_group(group: range, device: torch.device, dtype: torch.dtype, bar) -> Curves:
        return train(problem, make_model(problem, group, device, dtype), bar).curves(method, problem.optim.lr)

    return run_in_groups(problem, bytes_per_replica, problem.optim.steps, run_group)
