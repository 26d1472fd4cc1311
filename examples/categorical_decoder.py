"""Decoding a stimulus class from a population's spike counts with the categorical GLM.

We simulate 40 neurons with von Mises tuning to one of 6 stimulus directions (Poisson spike
counts per trial), fit a multinomial logistic decoder (`glmx.CategoricalGLM` with a Ridge
penalty) on training trials, and report its accuracy and confusion matrix on held-out trials.
A group lasso whose groups are the neurons (each neuron's coefficients in all classes) then
picks the neurons the decoder needs. The confusion matrix is saved next to this file as PNG.

Run: python examples/categorical_decoder.py
"""

import pathlib

import matplotlib
import numpy as np

import glmx

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

NEURONS, CLASSES, TRIALS_PER_CLASS = 40, 6, 80
OUT = pathlib.Path(__file__).parent


def simulate_trials(rng):
    """Spike counts ``(trials, neurons)`` and stimulus classes ``(trials,)``: each neuron's mean
    count is a von Mises tuning curve of the stimulus direction; a quarter are untuned."""
    directions = 2 * np.pi * np.arange(CLASSES) / CLASSES
    preferred = rng.uniform(0, 2 * np.pi, NEURONS)
    depth = np.where(rng.random(NEURONS) < 0.75, rng.uniform(0.5, 1.2, NEURONS), 0.0)
    baseline = rng.uniform(0.5, 1.5, NEURONS)
    labels = np.repeat(np.arange(CLASSES), TRIALS_PER_CLASS)
    rng.shuffle(labels)
    tuning = np.exp(np.log(baseline) + depth * np.cos(directions[:, None] - preferred))
    counts = rng.poisson(tuning[labels])
    return counts.astype(np.float32), labels, depth > 0


def confusion(true, predicted):
    matrix = np.zeros((CLASSES, CLASSES), int)
    np.add.at(matrix, (true, predicted), 1)
    return matrix


def main():
    rng = np.random.default_rng(0)
    counts, labels, tuned = simulate_trials(rng)
    features = np.sqrt(counts)  # variance-stabilised counts
    mean, std = features.mean(axis=0), features.std(axis=0) + 1e-6
    features = (features - mean) / std
    n_train = int(0.7 * len(labels))
    train, test = slice(0, n_train), slice(n_train, None)

    model = glmx.CategoricalGLM(glmx.Categorical(CLASSES), glmx.Ridge(1e-2))
    model, result = glmx.fit(model, features[train], labels[train])
    print(f"Ridge decoder: {result.message} in {int(result.num_steps)} steps")
    predicted = np.asarray(model.predict(features[test])).astype(int)
    accuracy = float(model.score(features[test], labels[test], "accuracy"))
    print(f"Test accuracy {accuracy:.3f} (chance {1 / CLASSES:.3f})")
    matrix = confusion(labels[test], predicted)
    print("Confusion matrix (rows: true class, columns: decoded class):")
    for row in matrix:
        print("  " + " ".join(f"{v:3d}" for v in row))

    groups = np.arange(NEURONS)  # one group per neuron: its coefficients in every class
    sparse = glmx.CategoricalGLM(glmx.Categorical(CLASSES), glmx.GroupLasso(groups, 0.06))
    sparse, result = glmx.fit(sparse, features[train], labels[train])
    kept = np.any(np.asarray(sparse.coef) != 0, axis=1)
    sparse_accuracy = float(sparse.score(features[test], labels[test], "accuracy"))
    print(f"Group lasso: {result.message}; keeps {kept.sum()} of {NEURONS} neurons")
    print(f"Kept neurons that are tuned: {np.sum(kept & tuned)} of {kept.sum()}")
    print(f"Group lasso test accuracy {sparse_accuracy:.3f}")

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
    fig.savefig(OUT / "categorical_decoder_confusion.png", dpi=100)


if __name__ == "__main__":
    main()
