"""The soak run: random GUI sessions, fuzzed files, injected faults, closing mid-work, hostile inputs and
extreme inputs. `python -m soak` (full) or `python -m soak --quick` (under a minute, run by the test
suite)."""
