"""The claims of the theory as executable checks.

Each check is a module with ``main(argv=None) -> int`` (run it as ``python -m verify.<name>``):
``theorem31`` (Theorem 3.1 and its failure modes). Shared pieces: :mod:`verify.verdict`
(claims, tables, exit codes) and :mod:`verify.store` (config hashes, atomic files).
"""
