"""Round 10: per-author training offsets (annotator modelling) in the learned tag layer's trainer."""

from __future__ import annotations

import numpy as np

from benchmarks import train_learned_layer as tl


def _two_conventions(seed: int = 0) -> tuple[tl.Design, np.ndarray, list[str]]:
    """Two authors label one tag at different base rates (0.8 and 0.2); a feature that says nothing of the tag
    within either author is on in most of the first author's rows and few of the second's."""
    rng = np.random.default_rng(seed)
    authors, dense, y = [], [], []
    for name, rate, on in (("a", 0.8, 0.9), ("b", 0.2, 0.1)):
        for _ in range(400):
            authors.append(name)
            dense.append([float(rng.random() < on)])
            y.append([float(rng.random() < rate)])
    x = tl.design(dense, [np.zeros(0, np.int64)] * len(y))
    return x, np.array(y), authors


def test_author_offsets_keep_an_authors_convention_out_of_the_shared_weights() -> None:
    x, y, authors = _two_conventions()
    plain, _, _, _ = tl.fit(x, y, l2_dense=0.1, l2_hash=1.0, softmax=False, iters=400, n_hashed=1)
    terms = tl.AuthorTerms.of(authors, 1.0)
    offset, _, _, _ = tl.fit(x, y, l2_dense=0.1, l2_hash=1.0, softmax=False, iters=400, n_hashed=1, authors=terms)
    assert plain[0, 0] > 1.5  # without the offsets the feature stands in for the first author's convention
    assert abs(offset[0, 0]) < 0.5  # with them it carries (almost) nothing


def test_author_terms_gradients_match_finite_differences() -> None:
    rng = np.random.default_rng(1)
    dense = rng.normal(size=(12, 3))
    terms = tl.AuthorTerms(np.array([0, 1, 2] * 4), l2=2.0, dense=True)
    y = rng.random((12, 2)) < 0.5
    ba, wa = rng.normal(size=(3, 2)), rng.normal(size=(3, 3, 2))

    def loss(ba: np.ndarray, wa: np.ndarray) -> float:
        p = 1 / (1 + np.exp(-terms.forward(ba, wa, dense)))
        data = -np.mean(np.sum(np.where(y, np.log(p), np.log(1 - p)), axis=1))
        return float(data + terms.l2 / (2 * 12) * (np.sum(ba**2) + np.sum(wa**2)))

    p = 1 / (1 + np.exp(-terms.forward(ba, wa, dense)))
    gba, gwa = terms.grads((p - y) / 12, dense, ba, wa, 12)
    eps = 1e-6
    for idx in [(0, 0), (2, 1)]:
        step = np.zeros_like(ba)
        step[idx] = eps
        assert abs((loss(ba + step, wa) - loss(ba - step, wa)) / (2 * eps) - gba[idx]) < 1e-6
    for idx3 in [(1, 2, 0), (0, 0, 1)]:
        step3 = np.zeros_like(wa)
        step3[idx3] = eps
        assert abs((loss(ba, wa + step3) - loss(ba, wa - step3)) / (2 * eps) - gwa[idx3]) < 1e-6


def test_no_author_terms_fit_exactly_as_before() -> None:
    x, y, _ = _two_conventions(2)
    a = tl.fit(x, y, l2_dense=0.1, l2_hash=1.0, softmax=False, iters=50, n_hashed=1)
    b = tl.fit(x, y, l2_dense=0.1, l2_hash=1.0, softmax=False, iters=50, n_hashed=1, authors=None)
    assert all(np.array_equal(u, v) for u, v in zip(a[:3], b[:3], strict=True))
    assert tl.AuthorTerms.of(["a", "b"], None) is None
