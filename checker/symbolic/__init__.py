"""Symbolic engines over one z3 encoding of the ground model: BMC, inductive invariants,
k-induction and Spacer proofs."""
