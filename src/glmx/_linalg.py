"""Guarded dense linear algebra shared by the solvers, implicit differentiation and inference.

Every routine here works on small ``d x d`` matrices (``d`` parameters), never on the data:

- `safe_cholesky`: the Cholesky factor of a positive semi-definite matrix, jittered so that it
  exists for singular and badly scaled ones, with a flag saying whether it is finite.
- `conjugate_gradient`: a (preconditioned) conjugate-gradient solve against a matrix-free
  operator.
- `restricted_to`: a matrix restricted to a free block of coordinates (the identity elsewhere).
- `pinv` and `spd_inverse`: pseudo-inverses of symmetric positive semi-definite matrices, the
  second computed on the unit-diagonal scaling so that the columns' units do not matter.

All are batched-friendly (``vmap``) and branch-free.

Every LAPACK factorisation in glmx goes through this module's `cholesky`, `eigh`, `qr_r` and
`svd`, which stay unbatched under ``vmap``: a batch is factorised one matrix after another
(``jax.custom_batching.sequential_vmap``). jaxlib's batched CPU kernels split a batch over
XLA's intra-op thread pool and wait for the pieces on a pool thread; two such waits at once
(two batched factorisations in one program, or fits from two threads) can hold every pool
thread and deadlock the process (seen with jaxlib 0.10 on two cores; `tests/test_concurrency.py`
runs that pattern). One matrix at a time never waits on the pool. `cholesky` and `eigh` carry
their derivatives (``jax.custom_jvp``), so fits stay differentiable through them.
"""

import jax
import jax.numpy as jnp
from jax.custom_batching import sequential_vmap
from jaxtyping import Array, Bool, Float

# --- factorisations, one matrix at a time under vmap ------------------------------------------


def _square(name: str, matrix) -> None:
    if jnp.ndim(matrix) != 2:
        raise ValueError(
            f"_linalg.{name} takes one matrix, got shape {jnp.shape(matrix)}; vmap it."
        )


@sequential_vmap
def _sequential_cholesky(matrix):
    return jnp.linalg.cholesky(matrix)


@sequential_vmap
def _sequential_eigh(matrix):
    values, vectors = jnp.linalg.eigh(matrix)
    return values, vectors


@jax.custom_jvp
def cholesky(matrix: Float[Array, "d d"]) -> Float[Array, "d d"]:
    """The lower Cholesky factor of a symmetric positive-definite ``matrix`` (NaN if it is
    not), one matrix at a time under ``vmap``."""
    _square("cholesky", matrix)
    return _sequential_cholesky(matrix)


@cholesky.defjvp
def _cholesky_jvp(primals, tangents):
    (matrix,), (dmatrix,) = primals, tangents
    factor = cholesky(matrix)
    dmatrix = 0.5 * (dmatrix + dmatrix.T)
    solve = jax.scipy.linalg.solve_triangular
    inner = solve(factor, solve(factor, dmatrix, lower=True).T, lower=True).T  # L^-1 dM L^-T
    inner = jnp.tril(inner) - 0.5 * jnp.diag(jnp.diag(inner))
    return factor, factor @ inner


@jax.custom_jvp
def eigh(matrix: Float[Array, "d d"]) -> tuple[Float[Array, " d"], Float[Array, "d d"]]:
    """Eigenvalues (ascending) and eigenvectors (columns) of a symmetric ``matrix``, one matrix
    at a time under ``vmap``."""
    _square("eigh", matrix)
    return _sequential_eigh(matrix)


@eigh.defjvp
def _eigh_jvp(primals, tangents):
    (matrix,), (dmatrix,) = primals, tangents
    values, vectors = eigh(matrix)
    rotated = vectors.T @ (0.5 * (dmatrix + dmatrix.T)) @ vectors
    gaps = values[None, :] - values[:, None]
    inverse_gaps = jnp.where(gaps != 0, 1.0 / jnp.where(gaps != 0, gaps, 1.0), 0.0)
    return (values, vectors), (jnp.diagonal(rotated), vectors @ (inverse_gaps * rotated))


@sequential_vmap
def _sequential_qr_r(matrix):
    return jnp.linalg.qr(matrix, mode="r")


@sequential_vmap
def _sequential_svd(matrix):
    u, s, vt = jnp.linalg.svd(matrix)
    return u, s, vt


def qr_r(matrix: Float[Array, "m d"]) -> Float[Array, "k d"]:
    """The ``R`` factor of a QR factorisation, one matrix at a time under ``vmap``; not
    differentiable (use under ``stop_gradient``)."""
    _square("qr_r", matrix)
    return _sequential_qr_r(matrix)


def svd(matrix: Float[Array, "m d"]):
    """``(U, s, Vt)`` of ``matrix`` (singular values descending), one matrix at a time under
    ``vmap``; not differentiable (use under ``stop_gradient``)."""
    _square("svd", matrix)
    return _sequential_svd(matrix)


def cho_solve(factor: Float[Array, "d d"], rhs):
    """``(L L^T)^-1 rhs`` (``rhs``: ``(d,)`` or ``(d, k)``) from the lower factor ``L``
    (triangular solves: no factorisation, safe to batch)."""
    return jax.scipy.linalg.cho_solve((factor, True), rhs)


def unit_diagonal(matrix: Float[Array, "d d"]) -> tuple[Float[Array, "d d"], Float[Array, " d"]]:
    """``(D^-1/2 M D^-1/2, sqrt(D))`` with ``D`` the diagonal of ``M`` (entries that are not
    positive count as 1), so that ``M = s s^T * unit`` elementwise."""
    diagonal = jnp.diagonal(matrix)
    scale = jnp.sqrt(jnp.where(diagonal > 0, diagonal, 1.0))
    return matrix / (scale[:, None] * scale[None, :]), scale


def safe_cholesky(matrix: Float[Array, "d d"], formed_in=None) -> tuple[Float[Array, "d d"], Array]:
    """Cholesky factor of a positive semi-definite ``matrix``, and whether it is finite.

    The matrix is first scaled to unit diagonal (`unit_diagonal`), so that the jitter is the
    same relative amount for every coordinate whatever the units of the columns of ``X``. The
    factorisation is tried with a jitter of ``100 d eps`` in the matrix's own dtype, which
    keeps ill-conditioned designs' factors accurate; if that fails (a singular design, or the
    rounding of a Gram formed in the lower precision ``formed_in`` made it indefinite), with
    ``100 d eps`` of ``formed_in``. Both are ``d^3`` work, small beside forming the Gram. The
    returned ``L`` satisfies ``L L^T = M + jitter * diag(M)``.
    """
    d = matrix.shape[0]
    unit, scale = unit_diagonal(matrix)
    eye = jnp.eye(d, dtype=matrix.dtype)
    small = 100 * d * float(jnp.finfo(matrix.dtype).eps)
    large = 100 * d * float(jnp.finfo(matrix.dtype if formed_in is None else formed_in).eps)
    if large > small:
        both = jax.vmap(cholesky)(jnp.stack([unit + small * eye, unit + large * eye]))
        factor = jnp.where(jnp.all(jnp.isfinite(both[0])), both[0], both[1])
    else:
        factor = cholesky(unit + small * eye)
    factor = scale[:, None] * factor
    return factor, jnp.all(jnp.isfinite(factor))


def conjugate_gradient(matvec, rhs: Float[Array, " d"], tol: float, max_steps: int, precondition):
    """Solve ``A x = rhs`` for a symmetric positive (semi-)definite ``A`` given as ``matvec``,
    from ``x = 0``, until ``||r|| <= tol ||rhs||`` or ``max_steps`` iterations; with
    ``precondition(r) ~ A^{-1} r`` (symmetric positive definite) when it is not ``None``."""
    if precondition is None:
        precondition = lambda r: r  # noqa: E731
    threshold = (tol * jnp.linalg.norm(rhs)) ** 2
    tiny = jnp.finfo(rhs.dtype).tiny

    def cond(carry):
        _, r, _, _, k = carry
        return (jnp.dot(r, r) > threshold) & (k < max_steps)

    def body(carry):
        x, r, p, rz, k = carry
        ap = matvec(p)
        alpha = rz / jnp.maximum(jnp.dot(p, ap), tiny)
        x = x + alpha * p
        r = r - alpha * ap
        z = precondition(r)
        new_rz = jnp.dot(r, z)
        p = z + (new_rz / jnp.maximum(rz, tiny)) * p
        return x, r, p, new_rz, k + 1

    z = precondition(rhs)
    start = (jnp.zeros_like(rhs), rhs, z, jnp.dot(rhs, z), 0)
    x, *_ = jax.lax.while_loop(cond, body, start)
    return x


#: Power iterations in `largest_eigenvalue`.
POWER_ITERATIONS = 20


def largest_eigenvalue(matvec, start: Float[Array, " d"]) -> Float[Array, ""]:
    """The largest eigenvalue of a positive semi-definite operator ``v -> matvec(v)``
    (``(d,) -> (d,)``: a matrix product, or Hessian-vector products), by `POWER_ITERATIONS`
    power iterations from ``start`` (``(d,)``, unit norm): a lower bound, close when the
    leading eigenvalue stands apart, as it does for the Gram matrices of designs. About
    ``20 d^2`` flops for a ``d x d`` matrix, where ``eigvalsh`` costs ``O(d^3)`` (measured: 3 ms
    per 101 x 101 matrix, a third of a proximal Newton step's time on 32 neurons x folds
    sharing a 25,000 x 100 design)."""

    def power(_, v):
        w = matvec(v)
        return w / jnp.maximum(jnp.linalg.norm(w), jnp.finfo(w.dtype).tiny)

    v = jax.lax.fori_loop(0, POWER_ITERATIONS, power, start)
    return jnp.dot(v, matvec(v))


def restricted_to(matrix: Float[Array, "d d"], free: Bool[Array, " d"]) -> Float[Array, "d d"]:
    """``matrix`` on the free block and the identity elsewhere."""
    both = free[:, None] & free[None, :]
    return jnp.where(both, matrix, 0.0) + jnp.diag(jnp.where(free, 0.0, 1.0))


def pinv(matrix: Float[Array, "*batch d d"]) -> Float[Array, "*batch d d"]:
    """Pseudo-inverse of symmetric positive semi-definite matrices (leading batch axes allowed):
    eigenvalues below ``d eps`` of the largest are dropped."""
    if matrix.ndim > 2:
        return jax.vmap(pinv)(matrix)
    values, vectors = eigh(matrix)
    cutoff = jnp.finfo(matrix.dtype).eps * matrix.shape[-1] * jnp.max(values)
    inverse = jnp.where(values > cutoff, 1.0 / jnp.where(values > 0, values, 1.0), 0.0)
    return (vectors * inverse) @ vectors.T


def spd_inverse(matrix: Float[Array, "d d"]) -> Float[Array, "d d"]:
    """The (pseudo-)inverse of a symmetric positive semi-definite matrix, computed on its
    unit-diagonal scaling so that the columns' units do not matter; directions with
    eigenvalues below ``d * eps`` of the largest (a rank-deficient design) are dropped, as a
    pseudo-inverse does."""
    unit, scale = unit_diagonal(matrix)
    return pinv(unit) / (scale[:, None] * scale[None, :])
