"""Probit linearity and trilateration hold symbolically (sympy), for small D and N."""
import pytest
import sympy as sp


def _setup(N, D):
    C = sp.Matrix(N, D, lambda i, j: sp.Symbol(f"c{i}{j}", real=True))
    b = sp.Matrix(N, 1, lambda i, _: sp.Symbol(f"b{i}", real=True))
    mu = sp.Matrix(D, 1, lambda j, _: sp.Symbol(f"mu{j}", real=True))
    sigma, t = sp.symbols("sigma t", positive=True)
    norms = [sp.sqrt(sum(C[i, j] ** 2 for j in range(D))) for i in range(N)]
    L = sp.diag(*norms)
    z = sp.sqrt(t) * L.inv() * (C * mu + b) / sigma  # probits of the optimal outputs
    return C, b, mu, sigma, t, L, z


def test_probit_of_optimal_output_is_linear_in_mu():
    """z = Phi^-1(Yhat) is affine in mu: Jacobian sqrt(t) L^-1 C / sigma, zero Hessian, and z = 0
    exactly on each boundary c_i . mu + b_i = 0."""
    C, b, mu, sigma, t, L, z = _setup(3, 2)
    assert sp.simplify(z.jacobian(mu) - sp.sqrt(t) * L.inv() * C / sigma) == sp.zeros(3, 2)
    assert all(sp.hessian(z[i], list(mu)) == sp.zeros(2, 2) for i in range(3))
    on_boundary = sp.solve(sp.Eq((C * mu + b)[0], 0), mu[0], dict=True)[0]
    assert sp.simplify(z[0].subs(on_boundary)) == 0


@pytest.mark.parametrize("N, D", [(2, 2), (3, 2), (2, 1), (3, 3)])
def test_trilateration_formula_returns_mu(N, D):
    """mu = (C^T C)^-1 C^T [(sigma / sqrt(t)) L z - b] for symbolic C (generic, full column rank)."""
    C, b, mu, sigma, t, L, z = _setup(N, D)
    pinv = (C.T * C).inv() * C.T
    recovered = pinv * (sigma / sp.sqrt(t) * L * z - b)
    assert sp.simplify(recovered - mu) == sp.zeros(D, 1)


def test_latent_form_of_theorem_3_1_is_affine_in_Z():
    """With outputs Phi(W Z + w0) optimal, mu = (sigma/sqrt t) C^+ L (W Z + w0) - C^+ b: check on a
    symbolic square C and a 2-D latent where W Z + w0 = z is imposed by solving for Z."""
    C, b, mu, sigma, t, L, z = _setup(2, 2)
    W = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"w{i}{j}", real=True))
    w0 = sp.Matrix(2, 1, lambda i, _: sp.Symbol(f"v{i}", real=True))
    Z = W.inv() * (z - w0)  # the latent state that produces the optimal probits
    pinv = C.inv()
    mu_from_Z = sigma / sp.sqrt(t) * pinv * L * (W * Z + w0) - pinv * b
    assert sp.simplify(mu_from_Z - mu) == sp.zeros(2, 1)
    # ...whatever the read-out: the recovered mu does not depend on W.
    assert sp.simplify(sp.diff(mu_from_Z, sp.Symbol("w00", real=True))) == sp.zeros(2, 1)
