"""Text and tabular reports of an `Inference` (host-side formatting only; no math here)."""

import numpy as np


def coefficient_table(inference, level: float) -> dict:
    """Columns ``name, coef, std_err, statistic, p_value, lower, upper`` as NumPy arrays (a
    leading neuron axis on the numeric columns for populations)."""
    bounds = np.asarray(inference.conf_int(level))
    return {
        "name": list(inference.names),
        "coef": np.asarray(inference.params),
        "std_err": np.asarray(inference.std_errors),
        "statistic": np.asarray(inference.statistics),
        "p_value": np.asarray(inference.p_values),
        "lower": bounds[..., 0],
        "upper": bounds[..., 1],
    }


def _p(value: float) -> str:
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _fit_lines(inf) -> list[str]:
    f = lambda name: float(np.asarray(getattr(inf, name)))  # noqa: E731
    covariance = f"covariance {inf.cov_type} ({inf.information} information)"
    if inf.cov_type == "cluster":
        covariance += f", {f('df_inference') + 1:.0f} clusters"
    return [
        f"glmx GLM inference: {inf.description}",
        f"  rows used {f('n_rows'):.0f} (weighted {f('n_obs'):.6g}), {covariance}",
        f"  edf {f('edf'):.3f}   dof_resid {f('dof_resid_effective'):.3f}   scale {f('scale'):.6g}",
        f"  log-likelihood {f('log_likelihood'):.6g}   deviance {f('deviance'):.6g}   "
        f"null deviance {f('null_deviance'):.6g}   Pearson chi2 {f('pearson_chi2'):.6g}",
        f"  AIC {f('aic'):.6g}   BIC {f('bic'):.6g}   pseudo-R2: McFadden "
        f"{f('pseudo_r2_mcfadden'):.4f}, Cohen (deviance explained) {f('pseudo_r2_cohen'):.4f}",
    ]


def summary_text(inf, level: float) -> str:
    if np.ndim(inf.params) == 2:
        return _population_text(inf)
    table = coefficient_table(inf, level)
    stat = "t" if inf.use_t else "z"
    low, high = (1 - level) / 2, 1 - (1 - level) / 2
    width = max(12, max(len(n) for n in table["name"]) + 2)
    header = (
        f"{'':{width}s}{'coef':>11s}{'std err':>11s}{stat:>9s}{'P>|' + stat + '|':>9s}"
        f"{f'[{low:.3g}':>12s}{f'{high:.3g}]':>11s}"
    )
    lines = _fit_lines(inf) + ["", header]
    for i, name in enumerate(table["name"]):
        free = bool(np.asarray(inf.free)[i])
        row = f"{name:{width}s}{table['coef'][i]:11.4g}"
        if free:
            row += (
                f"{table['std_err'][i]:11.4g}{table['statistic'][i]:9.3f}"
                f"{_p(table['p_value'][i]):>9s}{table['lower'][i]:12.4g}{table['upper'][i]:11.4g}"
            )
        else:
            row += "   (held at zero by the penalty or masked)"
        lines.append(row)
    return "\n".join(lines)


def _population_text(inf) -> str:
    n_neurons = np.shape(inf.params)[0]
    columns = [
        ("rows", "n_rows", ".0f"),
        ("edf", "edf", ".2f"),
        ("scale", "scale", ".4g"),
        ("deviance", "deviance", ".6g"),
        ("null dev.", "null_deviance", ".6g"),
        ("AIC", "aic", ".6g"),
        ("BIC", "bic", ".6g"),
        ("R2 Cohen", "pseudo_r2_cohen", ".4f"),
    ]
    lines = [
        f"glmx PopulationGLM inference: {inf.description}, {n_neurons} neurons, covariance "
        f"{inf.cov_type}",
        "neuron" + "".join(f"{title:>12s}" for title, _, _ in columns),
    ]
    values = {attr: np.asarray(getattr(inf, attr)) for _, attr, _ in columns}
    for k in range(n_neurons):
        cells = "".join(f"{values[attr][k]:>12{fmt}}" for _, attr, fmt in columns)
        lines.append(f"{k:6d}{cells}")
    lines.append("Coefficients per neuron: inference.neuron(k).summary().")
    return "\n".join(lines)
