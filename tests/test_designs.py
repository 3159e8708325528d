"""Boundary designs: the even design's sign convention and C^T C = (N/2) I; random unit normals."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from theory.designs import build_design, even_design, labels, make_design, random_design, resolve_design

EPS = np.finfo(float).eps


@given(st.integers(2, 64))
def test_even_design_gram_matrix_is_half_n_identity(n):
    C = even_design(n).C
    # sum of n unit-vector outer products: rounding ~ n eps per entry.
    np.testing.assert_allclose(C.T @ C, n / 2 * np.eye(2), rtol=0, atol=4 * n * EPS)


@given(st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_even_design_labels_match_the_reference_rule_above_the_line(n, seed):
    """y_i = [x2 > tan(phi_i) x1] for every i, including phi_i > pi/2 (reference convention)."""
    x = np.random.default_rng(seed).uniform(-0.5, 0.5, (500, 2))
    phi = (np.arange(n) + 0.5) * np.pi / n
    ref = x[:, 1:2] > np.tan(phi) * x[:, 0:1]
    got = labels(x, even_design(n))
    # Points within rounding distance of a line may flip; there are none at this sample size.
    margin = np.abs(x @ even_design(n).C.T)
    np.testing.assert_array_equal(got[margin > 1e-12], ref[margin > 1e-12])


def test_random_design_has_unit_normals_and_is_seeded():
    a, b = random_design(7, 4, 5), random_design(7, 4, 5)
    np.testing.assert_array_equal(a.C, b.C)
    np.testing.assert_allclose(np.linalg.norm(a.C, axis=1), 1.0, rtol=0, atol=4 * EPS)
    assert np.all(a.b == 0)
    assert np.all(np.abs(random_design(7, 4, 5, offsets=True).b) <= 0.25)


def test_random_design_gram_matrix_approaches_isotropy_with_many_tasks():
    """Corollary B.9: C^T C / N -> I / D. Entries have sd ~ 1/sqrt(N) (bounded unit-vector terms)."""
    N, D = 20_000, 3
    G = random_design(N, D, 0).C
    np.testing.assert_allclose(G.T @ G / N, np.eye(D) / D, atol=5 / np.sqrt(N))


def test_design_arrays_are_read_only():
    d = even_design(3)
    with pytest.raises(ValueError):
        d.C[0, 0] = 1.0


@pytest.mark.parametrize("call, match", [
    (lambda: make_design(np.zeros((2, 2))), "non-zero"),
    (lambda: make_design(np.ones(3)), "C must have shape"),
    (lambda: make_design(np.ones((3, 2)), np.ones(2)), "b must have shape"),
    (lambda: make_design([[1.0, np.nan]]), "finite"),
    (lambda: even_design(0), "ntask"),
    (lambda: build_design("even", 3, 3), "D=2"),
    (lambda: build_design("circle", 3, 2), "design"),
    (lambda: labels(np.zeros((4, 3)), even_design(2)), "D=2"),
])
def test_bad_design_arguments_raise_value_error_naming_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("design, D, kind", [("auto", 2, "even"), ("auto", 3, "random"), ("auto", 1, "random"),
                                             ("random", 2, "random"), ("even", 2, "even")])
def test_resolve_design_maps_auto_to_even_only_in_two_dimensions(design, D, kind):
    assert resolve_design(design, D) == kind
    assert build_design(design, 4, D, rng=0).name == kind


def test_resolve_design_refuses_even_off_the_plane_and_unknown_names():
    with pytest.raises(ValueError, match="needs D=2"):
        resolve_design("even", 3)
    with pytest.raises(ValueError, match="design='ring'"):
        resolve_design("ring", 2)
