"""The attack suite (issue 16): each case is an attack run from outside, and asserts its refusal."""
