# Test suite: every tests/t_*.sh is one test group, run by tests/run.sh with BUILD exported.
# A group exits 0 (pass), 77 (skipped, with a loud reason on stderr) or anything else (fail).
test: all
	$(Q)BUILD=$(abspath $(BUILD)) tests/run.sh $(T)
