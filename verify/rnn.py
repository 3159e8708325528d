"""python -m verify.rnn: the old name of ``python -m verify.networks`` (:mod:`verify.networks.cli`)."""
from verify.networks.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
