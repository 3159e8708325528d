"""python -m verify.networks: the network checks (see :mod:`verify.networks.cli`)."""
from verify.networks.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
