"""Stochastic variance-reduced gradient (SVRG), with a prox for non-smooth penalties (prox-SVRG).

Johnson & Zhang (2013); Xiao & Zhang (2014). Each epoch takes a snapshot ``s`` of the iterate
and the full gradient ``mu`` there, then makes cheap updates on mini-batches ``B``:
``x <- prox(x - lr * (grad_B(x) - grad_B(s) + mu), lr)``. The correction keeps the update's
variance shrinking as ``x`` and ``s`` approach the optimum, so a constant step converges
linearly, unlike plain stochastic gradient.

Two ways to run it:

- in `glmx.fit`, one solver step is one epoch on data held in memory: the full gradient, then
  ``epoch_length`` updates on batches of ``batch_size`` rows drawn without replacement;
- in `glmx.update`, on batches the caller streams: one call is one batch. The state alternates
  between a pass that averages the batches' gradients at the snapshot (the parameters do not
  move) and a pass of variance-reduced updates, each ``batches_per_epoch`` calls long.

For the first, the problem's ``args`` must be an `AbstractRows` (the objective being a mean over
rows it can be restricted to); glmx's GLM objective's are. Streamed batches need not be: with
other ``args`` the learning rate is estimated on the whole batch rather than a sample of it.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, Float, Int, PRNGKeyArray

from .._linalg import largest_eigenvalue
from ._base import AbstractRows, AbstractSolver
from ._shared import flat_grad, mapping_norm, prox_flat


class _SVRGState(eqx.Module):
    snapshot: Float[Array, " d"]
    mu: Float[Array, " d"]  # full (or pass-averaged) gradient at the snapshot
    accumulated: Float[Array, " d"]  # running sum of batch gradients at the snapshot (update)
    count: Int[Array, ""]  # batches seen in the current pass (update)
    updating: Array  # bool: in the update pass (update)
    learning_rate: Float[Array, ""]
    key: PRNGKeyArray
    value: Float[Array, ""]
    optimality: Float[Array, ""]


def _largest_curvature(fn, unravel, x, args, key):
    """The largest eigenvalue of the Hessian of ``fn`` at ``x`` by power iteration on
    Hessian-vector products (forward over reverse)."""
    grad = flat_grad(fn, unravel, args)

    def hvp(v):
        return jax.jvp(grad, (x,), (v,))[1]

    v = jax.random.normal(key, x.shape, x.dtype)
    estimate = largest_eigenvalue(hvp, v / jnp.linalg.norm(v))
    return jnp.where(jnp.isfinite(estimate) & (estimate > 0), estimate, 1.0)


class SVRG(AbstractSolver):
    """SVRG and prox-SVRG: variance-reduced stochastic gradient, for data too large for
    full-batch steps to be cheap. Handles every regularizer (through its prox).

    **Arguments:**

    - ``batch_size``: rows per mini-batch in `glmx.fit` (default 256).
    - ``epoch_length``: updates per epoch in `glmx.fit` (default: ``n // batch_size``, one pass).
    - ``batches_per_epoch``: in `glmx.update`, how many streamed batches make one pass over the
      data (default 10); the state alternates a gradient pass and an update pass of this length.
    - ``learning_rate``: the step; default ``1 / (4 L)`` with ``L`` the largest curvature of the
      objective on a batch, estimated by power iteration at each snapshot.
    - ``max_steps``: epochs in `glmx.fit` (default 200).
    - ``tol``: stop when the inf-norm of the gradient mapping at the snapshot,
      ``||s - prox(s - mu, 1)||``, is at most ``tol`` (default: 1e-8 in float64, 1e-4 in
      float32).
    - ``seed``: for the batch order.

    In `glmx.fit` an epoch costs two passes over ``X`` for the full gradient plus two passes
    of mini-batch gradients, so it pays off when ``n`` is large and full passes are expensive
    (for instance data that is mapped from disk) or when a low-accuracy fit is enough.
    """

    batch_size: int = 256
    epoch_length: int | None = None
    batches_per_epoch: int = 10
    learning_rate: float | None = None
    max_steps: int = 200
    tol: float | None = None
    seed: int = 0
    handles_nonsmooth = True

    def __check_init__(self):
        counts = {
            "batch_size": self.batch_size,
            "batches_per_epoch": self.batches_per_epoch,
            "max_steps": self.max_steps,
        }
        for name, value in counts.items():
            if not (isinstance(value, int) and value >= 1):
                raise ValueError(f"SVRG's {name} must be an integer >= 1, got {value!r}.")
        if self.epoch_length is not None and not (
            isinstance(self.epoch_length, int) and self.epoch_length >= 1
        ):
            raise ValueError(
                f"SVRG's epoch_length must be None or an integer >= 1, got {self.epoch_length!r}."
            )
        if self.learning_rate is not None and not self.learning_rate > 0:
            raise ValueError(
                f"SVRG's learning_rate must be None or positive, got {self.learning_rate!r}."
            )

    def _rate(self, fn, unravel, x, args, key):
        if self.learning_rate is not None:
            return jnp.asarray(self.learning_rate, x.dtype)
        return 0.25 / _largest_curvature(fn, unravel, x, args, key)

    def _random_batch(self, args, key):
        size = min(self.batch_size, args.n_rows)
        return args.take_rows(jax.random.randint(key, (size,), 0, args.n_rows))

    def init(self, problem, params, args):
        x, unravel = ravel_pytree(params)
        key, rate_key, batch_key = jax.random.split(jax.random.key(self.seed), 3)
        value, grad = jax.value_and_grad(problem.fn)(params, args)
        mu = ravel_pytree(grad)[0]
        batch = self._random_batch(args, batch_key) if isinstance(args, AbstractRows) else args
        return _SVRGState(
            snapshot=x,
            mu=mu,
            accumulated=jnp.zeros_like(x),
            count=jnp.array(0),
            updating=jnp.array(False),
            learning_rate=self._rate(problem.fn, unravel, x, batch, rate_key),
            key=key,
            value=value,
            optimality=mapping_norm(problem.prox, unravel, x, mu, args),
        )

    def _update(self, problem, unravel, x, state, batch):
        """One variance-reduced (proximal) gradient step from ``x`` on ``batch``."""
        grad = flat_grad(problem.fn, unravel, batch)
        v = grad(x) - grad(state.snapshot) + state.mu
        rate = state.learning_rate
        return prox_flat(problem.prox, unravel, x - rate * v, rate, batch)

    def step(self, problem, params, state, args, fresh):
        fn, prox = problem.fn, problem.prox
        x, unravel = ravel_pytree(params)
        if fresh:
            return self._streamed_step(problem, unravel, x, state, args)
        if not isinstance(args, AbstractRows):
            raise TypeError(
                "SVRG draws its mini-batches from the problem's args, which must be a "
                "glmx._solvers.AbstractRows (with n_rows and take_rows), got "
                f"{type(args).__name__}; without one, step SVRG on streamed batches "
                "(fresh=True) instead."
            )
        n = args.n_rows
        size = min(self.batch_size, n)
        per_pass = n // size
        length = self.epoch_length or per_pass
        key, epoch_key, rate_key = jax.random.split(state.key, 3)
        order = jax.random.permutation(epoch_key, n)  # without replacement within a pass

        def inner(k, x):
            start = (k % per_pass) * size
            batch = args.take_rows(jax.lax.dynamic_slice_in_dim(order, start, size))
            return self._update(problem, unravel, x, state, batch)

        x = jax.lax.fori_loop(0, length, inner, x)
        value, grad = jax.value_and_grad(fn)(unravel(x), args)
        mu = ravel_pytree(grad)[0]
        ok = jnp.isfinite(value) & jnp.all(jnp.isfinite(mu))
        rate = self._rate(fn, unravel, x, self._random_batch(args, rate_key), rate_key)
        # A diverging epoch keeps the snapshot and halves the step.
        accepted = eqx.tree_at(
            lambda s: (s.snapshot, s.mu, s.value, s.optimality, s.learning_rate),
            state,
            (x, mu, value, mapping_norm(prox, unravel, x, mu, args), rate),
        )
        rejected = eqx.tree_at(lambda s: s.learning_rate, state, state.learning_rate / 2)
        new_state = jax.tree.map(
            lambda a, b: a if a is b else jnp.where(ok, a, b), accepted, rejected
        )
        new_state = eqx.tree_at(lambda s: s.key, new_state, key)
        return unravel(new_state.snapshot), new_state

    def _streamed_step(self, problem, unravel, x, state, batch):
        """One streamed batch: accumulate the snapshot gradient, or make one update."""
        fn = problem.fn
        grad_at_snapshot = flat_grad(fn, unravel, batch)(state.snapshot)
        moved = self._update(problem, unravel, x, state, batch)
        count = state.count + 1
        end_of_pass = count >= self.batches_per_epoch
        accumulated = state.accumulated + grad_at_snapshot
        # Gradient pass: the parameters stay; at its end the averaged gradient becomes mu.
        # Update pass: the parameters move; at its end they become the new snapshot.
        updating = state.updating
        new_x = jnp.where(updating, moved, x)
        mu = jnp.where(~updating & end_of_pass, accumulated / count, state.mu)
        snapshot = jnp.where(updating & end_of_pass, new_x, state.snapshot)
        optimality = jnp.where(
            ~updating & end_of_pass,
            mapping_norm(problem.prox, unravel, state.snapshot, accumulated / count, batch),
            state.optimality,
        )
        new_state = _SVRGState(
            snapshot=snapshot,
            mu=mu,
            accumulated=jnp.where(end_of_pass | updating, 0.0, accumulated),
            count=jnp.where(end_of_pass, 0, count),
            updating=jnp.where(end_of_pass, ~updating, updating),
            learning_rate=state.learning_rate,
            key=state.key,
            value=fn(unravel(new_x), batch),
            optimality=optimality,
        )
        return unravel(new_x), new_state

    def optimality(self, state):
        return state.optimality

    def value(self, state):
        return state.value
