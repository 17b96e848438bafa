# `make deb`: the Debian package (scripts/deb/build.sh), into $(BUILD)/deb/.
# `make deb-check`: installs it with apt into a fresh minimal Debian 12 made by
# debootstrap and runs the tools there (scripts/deb/check.sh; root, network, 2-6 min).
.PHONY: deb deb-check

deb:
	$(Q)scripts/deps.sh --deb
	$(Q)BUILD=$(abspath $(BUILD)) VERSION=$(VERSION) scripts/deb/build.sh

deb-check: deb
	$(Q)scripts/deps.sh --deb-check
	$(Q)BUILD=$(abspath $(BUILD)) VERSION=$(VERSION) scripts/deb/check.sh
