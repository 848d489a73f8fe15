"""PLACEHOLDER — replaced by the loading implementation (issue 4)."""


def load(*args, **kwargs):  # pragma: no cover
    raise NotImplementedError


def load_all(*args, **kwargs):  # pragma: no cover
    raise NotImplementedError
