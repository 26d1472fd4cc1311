"""Penalties and proximal operators: closed forms and prox optimality."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import glmx
from glmx._prox import prox_group_lasso, soft_threshold

W = jnp.array([0.5, -1.5, 0.0, 2.0, -0.2, 0.05])
MASK = np.array([[1, 1, 0, 0, 0, 0], [0, 0, 1, 1, 1, 0]], dtype=bool)  # feature 5 in no group

REGULARIZERS = {
    "unregularized": glmx.UnRegularized(),
    "ridge": glmx.Ridge(0.7),
    "ridge-per-feature": glmx.Ridge(jnp.linspace(0.1, 1.0, 6)),
    "lasso": glmx.Lasso(0.3),
    "lasso-per-feature": glmx.Lasso(jnp.linspace(0.0, 0.6, 6)),
    "elasticnet": glmx.ElasticNet(0.4, 0.3),
    "grouplasso": glmx.GroupLasso(MASK, 0.35),
    "grouplasso-per-group": glmx.GroupLasso(MASK, jnp.array([0.1, 0.9])),
}


def test_penalty_values():
    w = np.asarray(W)
    assert glmx.UnRegularized().penalty(W) == 0
    np.testing.assert_allclose(glmx.Ridge(0.7).penalty(W), 0.5 * 0.7 * np.sum(w**2))
    np.testing.assert_allclose(glmx.Lasso(0.3).penalty(W), 0.3 * np.sum(np.abs(w)))
    np.testing.assert_allclose(
        glmx.ElasticNet(0.4, 0.3).penalty(W),
        0.4 * (0.3 * np.abs(w).sum() + 0.5 * 0.7 * np.sum(w**2)),
    )
    expected = 0.35 * (np.sqrt(2) * np.linalg.norm(w[:2]) + np.sqrt(3) * np.linalg.norm(w[2:5]))
    np.testing.assert_allclose(glmx.GroupLasso(MASK, 0.35).penalty(W), expected)


@pytest.mark.parametrize("name", REGULARIZERS)
def test_prox_minimises_its_objective(name):
    reg = REGULARIZERS[name]
    step = 0.8
    z = reg.prox(W, step)

    def objective(v):
        return 0.5 * jnp.sum((v - W) ** 2) + step * reg.penalty(v)

    best = objective(z)
    perturbations = jax.random.normal(jax.random.key(0), (500, W.size)) * 0.05
    others = jax.vmap(objective)(z + perturbations)
    assert np.all(np.asarray(others) >= best - 1e-12)
    # Sparse directions: moving a zeroed coordinate off zero must not help either.
    for i in np.flatnonzero(np.asarray(z) == 0):
        for delta in (1e-3, -1e-3):
            assert objective(z.at[i].add(delta)) >= best - 1e-12


def test_prox_closed_forms():
    np.testing.assert_allclose(soft_threshold(W, 0.3), np.sign(W) * np.maximum(np.abs(W) - 0.3, 0))
    np.testing.assert_allclose(glmx.Ridge(0.5).prox(W, 2.0), W / 2.0)
    z = glmx.GroupLasso(MASK, 10.0).prox(W, 1.0)
    np.testing.assert_array_equal(z[:5], 0.0)  # large strength zeroes every group...
    assert z[5] == W[5]  # ...but never a feature in no group


def test_group_lasso_has_finite_gradients_at_zero_groups():
    zero = jnp.zeros(6)
    reg = glmx.GroupLasso(MASK, 0.5)
    assert np.all(np.isfinite(jax.grad(reg.penalty)(zero)))
    jac = jax.jacfwd(lambda v: reg.prox(v, 1.0))(zero)
    assert np.all(np.isfinite(jac))
    jac = jax.jacrev(
        lambda v: prox_group_lasso(v, jnp.array([0.1, 0.1]), jnp.asarray(MASK, float))
    )(zero)
    assert np.all(np.isfinite(jac))


def test_group_labels_become_a_mask():
    reg = glmx.GroupLasso(np.array([0, 0, 1, 1, 1, -1]), 0.35)
    np.testing.assert_array_equal(reg.groups, MASK)
    np.testing.assert_allclose(reg.penalty(W), REGULARIZERS["grouplasso"].penalty(W))


def test_smoothness_flags():
    assert glmx.UnRegularized.is_smooth and glmx.Ridge.is_smooth
    assert not any(
        r.is_smooth for r in (glmx.Lasso(), glmx.ElasticNet(), REGULARIZERS["grouplasso"])
    )


def test_strengths_are_array_leaves():
    # A strength is a leaf: new values do not change the treedef, and can be vmapped.
    leaves, treedef = jax.tree.flatten(glmx.Lasso(0.1))
    assert jax.tree.structure(glmx.Lasso(0.9)) == treedef and len(leaves) == 1
    values = jax.vmap(lambda s: glmx.Lasso(s).penalty(W))(jnp.array([0.1, 0.2]))
    np.testing.assert_allclose(values, np.array([0.1, 0.2]) * np.abs(np.asarray(W)).sum())
