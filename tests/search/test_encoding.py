"""The one point encoding the searches share: its gene view agrees with the space's unit scale and round-trips."""

from __future__ import annotations

import numpy as np
import pytest

from bt_optimize.search.encoding import Encoder
from bt_optimize.search.genetic import GeneticSearch
from bt_optimize.search.refine import perturb
from bt_optimize.space import Cat, Int, Real, Space, params_key

SPACE = Space({"a": Int(2, 60), "b": Int(10, 250, step=5), "c": Real(0.01, 0.2, log=True), "m": Cat(["x", "y", "z"]),
               "f": Cat([3]), "s": Real(0.0, 0.15, step=0.03), "n": Int(1, 100, log=True), "r": Real(-1.0, 2.0)})


def test_genes_are_unit_values_and_choice_indices_and_round_trip():
    enc = Encoder(SPACE)
    points = [SPACE.sample(np.random.default_rng(i)) for i in range(200)]
    G = enc.genes(points)
    assert G.shape == (200, len(SPACE))
    for p, g in zip(points, G):
        for j, name in enumerate(SPACE.names):
            d = SPACE[name]
            want = d.index(p[name]) if isinstance(d, Cat) else d.to_unit(p[name])
            assert g[j] == pytest.approx(want, abs=1e-12)
    assert enc.from_genes(G) == points


def test_from_genes_gives_the_nearest_legal_point():
    enc = Encoder(SPACE)
    far = np.array([[-3.0, 0.51 / 48 + 1 / 48, 7.0, 5.4, 9.0, 0.49, 0.0, 1.5]])
    p = enc.from_genes(far)[0]
    assert p == SPACE.validate_point(p)
    assert (p["a"], p["b"], p["m"], p["f"], p["s"], p["n"], p["r"]) == (2, 20, "z", 3, 0.06, 1, 2.0)
    assert p["c"] == pytest.approx(0.2, rel=1e-12)  # the top of a log range, through exp(log(...))


def test_genetic_and_refine_use_the_shared_genes():
    enc = Encoder(SPACE)
    ga = GeneticSearch(SPACE, seed=0, population_size=4)
    p = SPACE.sample(np.random.default_rng(5))
    assert ga.encode(p) == enc.genes([p])[0].tolist()
    assert ga.decode(ga.encode(p)) == p
    q = perturb(SPACE, p, np.random.default_rng(1), 0.1, encoder=enc)
    assert q == SPACE.validate_point(q) and params_key(q) != params_key(p)
    assert q == perturb(SPACE, p, np.random.default_rng(1), 0.1)  # same draws, same neighbour
