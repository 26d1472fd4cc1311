"""glmx.tune_strength: gradient descent on the cross-validated held-out loss ends at least as
low as the best grid point, at the minimum of a fine grid for one strength, and tunes several
strengths at once (per neuron, per group)."""

import numpy as np

import glmx
from test_path import X, Y, design


def test_one_strength_reaches_the_minimum_of_a_fine_grid():
    model = glmx.GLM(glmx.Poisson(), glmx.Ridge())
    tuned = glmx.tune_strength(model, X, Y, folds=4, n_strengths=6, steps=10)
    assert float(tuned.loss) <= float(tuned.start_loss) + 1e-12
    assert float(tuned.loss) <= -float(np.max(tuned.grid.mean)) + 1e-12
    fine = glmx.cross_validate(model, X, Y, np.geomspace(1e-4, 1.0, 60), folds=4)
    assert float(tuned.loss) <= -float(np.max(fine.mean)) + 1e-7
    assert isinstance(tuned.model, glmx.GLM)
    np.testing.assert_allclose(tuned.model.regularizer.strength, tuned.strength)
    refit, _ = glmx.fit(tuned.model, X, Y)
    np.testing.assert_allclose(tuned.model.coef, refit.coef, atol=1e-6)


def test_per_neuron_and_per_group_strengths_are_tuned_together():
    Ys = np.stack([Y, design(seed=6)[1]], axis=1)
    groups = np.array([0, 0, 1, 1, 2, 2])
    pop = glmx.PopulationGLM(
        glmx.Poisson(), glmx.Smoothness(groups, order=1, strength=np.ones((2, 3))), n_neurons=2
    )
    tuned = glmx.tune_strength(pop, X, Ys, folds=3, n_strengths=4, steps=8)
    assert tuned.strength.shape == (2, 3) and tuned.losses.shape == (8, 2)
    assert np.all(np.asarray(tuned.loss) <= np.asarray(tuned.start_loss) + 1e-12)
    assert np.all(np.asarray(tuned.loss) < np.asarray(tuned.start_loss) - 1e-7)  # it moved
    assert tuned.model.glm.coef.shape == (2, X.shape[1])
