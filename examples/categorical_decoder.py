"""Decoding a stimulus class from a population.

Forty neurons are tuned to the direction of a stimulus, and each trial shows one of six
directions. A multinomial logistic decoder (`glmx.CategoricalGLM`) learns to read the
direction from the trial's spike counts; we measure it on held-out trials with its accuracy
and confusion matrix, then let a group lasso find the neurons the decoder needs.
"""

# %% [markdown]
# ## The population and the trials
#
# On each trial the animal sees a stimulus moving in one of six directions, 60° apart, and we
# count the spikes of 40 neurons. Each neuron's mean count follows a von Mises tuning curve,
# `baseline * exp(depth * cos(direction - preferred))`: highest at its preferred direction,
# lowest opposite it. The preferred directions are spread at random around the circle. The
# depth of tuning is between 0.5 and 1.2 for about three quarters of the neurons; the others
# are untuned (depth 0), and their counts say nothing about the stimulus. There are 80 trials
# of each direction, in random order.
#
# The counts are small, about one spike per neuron and trial, so no single neuron tells the
# direction reliably: the decoder has to pool the evidence of many.

# %%
import pathlib

import matplotlib.pyplot as plt
import numpy as np

import glmx

NEURONS, CLASSES, TRIALS_PER_CLASS = 40, 6, 80

rng = np.random.default_rng(0)
directions = 2 * np.pi * np.arange(CLASSES) / CLASSES
preferred = rng.uniform(0, 2 * np.pi, NEURONS)
depth = np.where(rng.random(NEURONS) < 0.75, rng.uniform(0.5, 1.2, NEURONS), 0.0)
baseline = rng.uniform(0.5, 1.5, NEURONS)
labels = np.repeat(np.arange(CLASSES), TRIALS_PER_CLASS)
rng.shuffle(labels)
tuning = np.exp(np.log(baseline) + depth * np.cos(directions[:, None] - preferred))
counts = rng.poisson(tuning[labels]).astype(np.float32)  # (trials, neurons)
tuned = depth > 0

print(f"{len(labels)} trials x {NEURONS} neurons; {tuned.sum()} neurons are tuned.")
print(f"Mean spike count per neuron and trial: {counts.mean():.2f}")

# %% [markdown]
# ## Features, and a split into training and test trials
#
# Poisson counts have a variance equal to their mean, so a neuron that fires more is also
# noisier. The square root of a count has a variance close to 1/4 whatever the rate, which
# puts the neurons on a more equal footing; we then standardise each neuron (mean 0, standard
# deviation 1) so that one penalty strength means the same for all of them. The
# standardisation uses no labels, so it cannot leak the answer into the test trials.
#
# The first 70% of the (shuffled) trials train the decoder; the last 30% test it.

# %%
features = np.sqrt(counts)  # variance-stabilised counts
mean, std = features.mean(axis=0), features.std(axis=0) + 1e-6
features = (features - mean) / std
n_train = int(0.7 * len(labels))
train, test = slice(0, n_train), slice(n_train, None)
print(f"{n_train} training trials, {len(labels) - n_train} test trials")
print(f"Test trials per direction: {np.bincount(labels[test], minlength=CLASSES)}")

# %% [markdown]
# ## A Ridge decoder
#
# `glmx.CategoricalGLM` is multinomial logistic regression: the probability of direction k
# on a trial is the softmax of `features @ coef + intercept`, with one column of `coef` per
# direction, `(40, 6)`. The decoder's guess is the most probable direction. Forty neurons
# times six directions is 240 weights from 336 trials, so a small Ridge penalty keeps the
# weights from fitting the noise of the training trials.

# %%
model = glmx.CategoricalGLM(glmx.Categorical(CLASSES), glmx.Ridge(1e-2))
model, result = glmx.fit(model, features[train], labels[train])
print(f"Ridge decoder: {result.message} in {int(result.num_steps)} steps")
predicted = np.asarray(model.predict(features[test])).astype(int)
accuracy = float(model.score(features[test], labels[test], "accuracy"))
print(f"Test accuracy {accuracy:.3f} (chance {1 / CLASSES:.3f})")

# %% [markdown]
# ## Which directions does it confuse?
#
# Accuracy is one number; the confusion matrix says where the errors go. Row i counts the
# test trials of true direction i by the direction they were decoded as, so a perfect
# decoder has counts on the diagonal only. Directions are on a circle, so 0° and 300° are
# neighbours too.


# %%
def confusion(true, decoded):
    matrix = np.zeros((CLASSES, CLASSES), int)
    np.add.at(matrix, (true, decoded), 1)
    return matrix


matrix = confusion(labels[test], predicted)
print("Confusion matrix (rows: true class, columns: decoded class):")
for row in matrix:
    print("  " + " ".join(f"{v:3d}" for v in row))
steps = np.abs(np.subtract.outer(np.arange(CLASSES), np.arange(CLASSES)))
neighbours = np.minimum(steps, CLASSES - steps) == 1  # 60° apart on the circle
errors = matrix.sum() - np.trace(matrix)
print(f"Errors: {errors}, of which {matrix[neighbours].sum()} to a neighbouring direction")

fig, ax = plt.subplots(figsize=(4.6, 4))
fractions = matrix / matrix.sum(axis=1, keepdims=True)
shown = ax.imshow(fractions, cmap="Blues", vmin=0, vmax=1)
for (i, j), v in np.ndenumerate(matrix):
    color = "white" if fractions[i, j] > 0.6 else "black"
    ax.text(j, i, str(v), ha="center", va="center", fontsize=8, color=color)
degrees = [f"{int(d)}°" for d in 360 * np.arange(CLASSES) / CLASSES]
ax.set_xticks(range(CLASSES), degrees)
ax.set_yticks(range(CLASSES), degrees)
ax.set_xlabel("decoded direction")
ax.set_ylabel("true direction")
ax.set_title(f"Held-out trials: accuracy {accuracy:.2f}")
fig.colorbar(shown, ax=ax, label="fraction of the true class")
fig.tight_layout()
fig.savefig(pathlib.Path(__file__).parent / "categorical_decoder_confusion.png", dpi=100)

# %% [markdown]
# ![Confusion matrix of the Ridge decoder on the held-out trials: counts of trials by true
# direction (rows) and decoded direction (columns), shaded by the fraction of the row. Most
# trials lie on the diagonal, and the errors lie next to it.](categorical_decoder_confusion.png)
#
# Every error goes to a direction 60° from the true one. That is what tuning curves predict:
# a tuning curve is smooth, so neighbouring directions evoke similar population responses,
# and a few noisy spikes can tip the decision between them, never to the opposite direction.
#
# ## Which neurons does the decoder need?
#
# About a quarter of the neurons are untuned, and a Ridge decoder gives every neuron some
# weight. A group lasso can remove neurons: its groups are the rows of `coef`, one per neuron,
# holding that neuron's weights for all six directions. The penalty is the strength times the
# sum of the rows' Euclidean norms, so a neuron is either removed from every direction at once
# or kept. The strength, 0.06, is fixed here; in practice choose it by cross-validation, as
# in [Choosing a strength by cross-validation](choose_strength.md).

# %%
groups = np.arange(NEURONS)  # one group per neuron: its coefficients in every class
sparse = glmx.CategoricalGLM(glmx.Categorical(CLASSES), glmx.GroupLasso(groups, 0.06))
sparse, result = glmx.fit(sparse, features[train], labels[train])
kept = np.any(np.asarray(sparse.coef) != 0, axis=1)
sparse_accuracy = float(sparse.score(features[test], labels[test], "accuracy"))
print(f"Group lasso: {result.message}; keeps {kept.sum()} of {NEURONS} neurons")
print(f"Kept neurons that are tuned: {np.sum(kept & tuned)} of {kept.sum()}")
print(f"Tuned neurons it drops: {np.sum(~kept & tuned)} of {tuned.sum()}")
print(f"Group lasso test accuracy {sparse_accuracy:.3f}")

# %% [markdown]
# The group lasso drops all ten untuned neurons and five tuned ones, and decodes the test
# trials almost as well as the Ridge decoder with all 40. The figure shows which neurons it
# keeps: each neuron's weight norm (the Euclidean norm of its row of `coef`) against the depth
# of its tuning.

# %%
ridge_norms = np.linalg.norm(np.asarray(model.coef), axis=1)
sparse_norms = np.linalg.norm(np.asarray(sparse.coef), axis=1)
fig, ax = plt.subplots(figsize=(5.6, 3.8))
ax.plot(depth, ridge_norms, "o", color="0.7", label="Ridge decoder")
ax.plot(depth[kept], sparse_norms[kept], "o", color="C0", label="group lasso, kept")
ax.plot(depth[~kept], sparse_norms[~kept], "x", color="C3", label="group lasso, dropped")
ax.set_xlabel("depth of tuning (0: untuned)")
ax.set_ylabel("norm of the neuron's weights")
ax.legend(frameon=False)
fig.tight_layout()
fig.savefig(pathlib.Path(__file__).parent / "categorical_decoder_neurons.png", dpi=100)

# %% [markdown]
# ![Each neuron's weight norm against the depth of its tuning. The Ridge decoder (grey) gives
# every neuron some weight, the untuned ones at depth 0 included. The group lasso sets the
# weights of the untuned neurons and of five tuned ones exactly to zero (red crosses), and
# keeps the rest (blue) with weights shrunk well below the Ridge
# decoder's.](categorical_decoder_neurons.png)
#
# Weight norms grow with the depth of tuning, but not strictly: a neuron whose preferred
# direction is shared by several others adds little that they do not already say, and the
# penalty can drop it even if it is well tuned. The shrinkage of the kept weights costs little
# accuracy, because the decoded direction depends only on which direction scores highest.
#
# ## In short
#
# - Decode on held-out trials, and look at the confusion matrix as well as the accuracy: here
#   it shows errors only between neighbouring directions, as smooth tuning curves predict.
# - A group lasso with one group per neuron selects neurons for the decoder, removing each
#   from every class at once.
#
# [Categorical models](../categorical.md) covers the model's parametrisation, its penalties,
# standard errors and the scikit-learn classifier.
