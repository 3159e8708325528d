"""python -m verify.agent FILE.npz: check any agent's states against the theory (see :mod:`verify.agent`)."""
from verify.agent import main

if __name__ == "__main__":
    raise SystemExit(main())
