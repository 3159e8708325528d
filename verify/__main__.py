"""python -m verify: the full verification report (see :mod:`verify.report`)."""
from verify.report import main

if __name__ == "__main__":
    raise SystemExit(main())
