"""The opt-in persistent compilation cache: `enable_compilation_cache` points JAX's on-disk
cache at a directory, so that a new process reuses the programs an earlier one compiled. glmx
never calls it itself: it changes JAX's configuration for the whole process."""

import os
import pathlib

import jax


def _default_directory() -> pathlib.Path:
    """``$XDG_CACHE_HOME/glmx/jax`` if ``XDG_CACHE_HOME`` is an absolute path, else
    ``~/.cache/glmx/jax``."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = pathlib.Path(base) if os.path.isabs(base) else pathlib.Path.home() / ".cache"
    return root / "glmx" / "jax"


def _directory(directory) -> pathlib.Path:
    """``directory`` as an absolute path (``~`` expanded), or the default; checked, not made."""
    if directory is None:
        return _default_directory()
    path = os.fspath(directory) if isinstance(directory, str | os.PathLike) else None
    if not isinstance(path, str):
        raise TypeError(
            "directory must be a str or os.PathLike path (or None for the default), "
            f"got {type(directory).__name__} {directory!r}."
        )
    if not path:
        raise ValueError("directory must be a path to a directory, got the empty string.")
    return pathlib.Path(os.path.abspath(os.path.expanduser(path)))


def enable_compilation_cache(directory=None) -> pathlib.Path:
    """Turn on JAX's persistent compilation cache, so that later processes skip compiling.

    A fit compiles one program per combination of shapes, dtypes and model structure; within a
    process that program is reused, but a new process compiles it again, which is most of the
    2-4 s of its first fit. With the cache on, every program compiled from now on is written to
    ``directory``, and a later process that turns the cache on in the same directory loads a
    program it needs (same shapes, same glmx, JAX and jaxlib versions, same machine) instead of
    compiling it.

    glmx never calls this itself: it changes JAX's configuration for the whole process, for
    every JAX program of the process, not only glmx's. It sets ``jax_compilation_cache_dir`` to
    ``directory``, and ``jax_persistent_cache_min_compile_time_secs`` and
    ``jax_persistent_cache_min_entry_size_bytes`` to 0, so that every program is written however
    quick to compile or small (JAX's defaults skip programs that compile in under a second,
    most of glmx's).

    Programs compiled before the call are not written: call it first thing in a script. If JAX's
    cache was already in use in another directory, it switches to this one. JAX treats the cache
    as trusted: do not use a directory that others can write to. The cache is not pruned; delete
    the directory to empty it.

    **Arguments:** ``directory``: a ``str`` or ``os.PathLike`` (``~`` is expanded), created if
    missing. Default: ``$XDG_CACHE_HOME/glmx/jax``, or ``~/.cache/glmx/jax`` without
    ``XDG_CACHE_HOME``.

    **Returns:** the cache directory, an absolute ``pathlib.Path``.

    **Raises:** ``TypeError`` if ``directory`` is not a ``str``, ``os.PathLike`` or ``None``;
    ``ValueError`` for the empty string; ``NotADirectoryError`` if it (or a parent) exists and is
    not a directory.

    **Example:**
    ```python
    glmx.enable_compilation_cache()  # before the first fit
    model, result = glmx.fit(glmx.GLM(glmx.Poisson()), X, spikes)
    ```
    """
    path = _directory(directory)
    blocker = next(
        (part for part in (path, *path.parents) if part.exists() and not part.is_dir()), None
    )
    if blocker is not None:
        where = "" if blocker == path else f" (on the way to {path})"
        raise NotADirectoryError(
            f"directory must be a directory, but {blocker}{where} exists and is not one."
        )
    path.mkdir(parents=True, exist_ok=True)
    previous = jax.config.jax_compilation_cache_dir
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    if previous is not None and previous != str(path):
        # JAX opens its cache once, at the first compilation after a directory is set; a new
        # directory takes effect only after a reset.
        from jax.experimental.compilation_cache import compilation_cache

        compilation_cache.reset_cache()
    return path
