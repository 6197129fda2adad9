# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# OpenSCI top-level build (GNU make, non-recursive).
#   make            libraries (shared with soname + static) and tools
#   make check      every test: cmocka suites, multi-process tests, fuzzers, ASan+UBSan, TSan
#   make demo       the main job: two nodes on the default simntb fabric
#   make install PREFIX=/usr/local DESTDIR=    (make uninstall, same variables; docs/packaging.md)
#   make vmcheck    the two-host QEMU lab (tests/vmlab)
#   make fuzz       the fuzzers under libFuzzer (installs clang: scripts/deps.sh fuzz)
# Sources are found by folder: driver/*/*.c (core, simntb, rdma unless RDMA=no) and libseg/*.c form libsisci,
# libipc/event*.c libnvscievent, the other libipc/*.c libnvsciipc, libbuf/nvscibuf*.c libnvscibuf, the other
# libbuf/*.c libopensci-buf, tests/<suite>/test_*.c one test each.
# common/*.c (process liveness, config file reading, size parsing, the exit hook) go into libsisci and
# libnvsciipc, each a hidden copy; common/*.h alone (clock, list) are inline.

SAN ?=
ifeq ($(SAN),asan)
O ?= build-asan
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
else ifeq ($(SAN),tsan)
O ?= build-tsan
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
else ifeq ($(SAN),fuzz)
# coverage-instrumented libraries for libFuzzer (make fuzz; clang only)
O ?= build-fuzz
CC := clang
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
else
O ?= build
SANFLAGS :=
endif

PREFIX ?= /usr/local
DESTDIR ?=
# The multiarch triplet (x86_64-linux-gnu); looked up once, when an install rule first needs it.
MULTIARCH = $(eval MULTIARCH := $$(shell dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || \
	$(CC) -print-multiarch 2>/dev/null))$(MULTIARCH)
# /usr installs into the multiarch library folder (lib/x86_64-linux-gnu), any other prefix into lib.
LIBDIR ?= $(PREFIX)/lib$(if $(filter /usr /usr/,$(PREFIX)),$(if $(MULTIARCH),/$(MULTIARCH)))
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
CC ?= gcc
VERSION := 0.1.0
# Shared libraries: the file lib*.so.$(LIBVER), the soname link lib*.so.$(SOVER), the link lib*.so.
SOVER := 0
LIBVER := $(SOVER).1.0

WARN := -Wall -Wextra -Werror -Wmissing-prototypes -Wstrict-prototypes -Wno-unused-parameter
CPPFLAGS_ALL := -DOSCI_VERSION=\"$(VERSION)\" -D_GNU_SOURCE
# Include paths per layer (the first folder of a source's path): tools see the public headers only (and
# tools/common/, what the tools share), libipc and libbuf also common/, only the driver layer and libseg
# see driver/core/. Tests see everything.
INC_common := -Iinclude -Icommon
INC_driver := $(INC_common) -Idriver/core -Idriver/wdev
INC_libseg := $(INC_common) -Idriver/core -Ilibseg
INC_libipc := $(INC_common) -Ilibipc
INC_libbuf := $(INC_common) -Ilibbuf
INC_tools := -Iinclude -Itools/common
INC_tests := $(INC_common) -Idriver/core -Idriver/wdev -Idriver/simntb -Idriver/rdma -Ilibseg -Ilibipc -Ilibbuf
CFLAGS ?= -O2 -g
CFLAGS_ALL := -std=gnu11 $(WARN) -fPIC -fvisibility=hidden -pthread $(SANFLAGS) $(CFLAGS)
LDFLAGS_ALL := -pthread $(SANFLAGS) $(LDFLAGS)
CPPFLAGS_ALL += $(CPPFLAGS)

# scripts/deps.sh runs once per build folder; DEPS=no skips it (package builds, whose build
# dependencies are debian/control's).
DEPS ?= yes
DEPS_STAMP := $(if $(filter no,$(DEPS)),,$(O)/.deps-ok)
# Non-empty when scripts/deps.sh is about to install the build dependencies (this build folder's first build).
DEPS_PENDING = $(and $(DEPS_STAMP),$(if $(wildcard $(DEPS_STAMP)),,1))

# A build switch NAME=yes, no or auto: $(call build_switch,NAME,HDRS,MISSING) is yes or no. HDRS names a
# variable that is non-empty when the headers are there (run only when needed), MISSING the error text of
# NAME=yes without them; auto is yes when they are there or about to be installed.
build_switch = $(strip \
	$(if $(filter no,$($(1))),no, \
	$(if $(filter yes auto,$($(1))),$(if $(or $(DEPS_PENDING),$($(2))),yes, \
		$(if $(filter yes,$($(1))),$(error $(1)=yes but $($(3))),no)), \
	$(error $(1)=$($(1)): use $(1)=yes, $(1)=no or $(1)=auto))))

# The rdma driver (driver/rdma/, rdma-core's libibverbs and librdmacm): RDMA=yes, no, or auto (the
# default: yes when rdma-core's headers are there, or when scripts/deps.sh is about to install them in
# this build folder's first build). With RDMA=no nothing links rdma-core, the registry knows no "rdma"
# driver, and the tests that need it are not built (docs/rdma.md "Building without rdma").
RDMA ?= auto
RDMA_HDRS = $(shell printf '\#include <infiniband/verbs.h>\n\#include <rdma/rdma_cma.h>\n' | \
	$(CC) $(CPPFLAGS) -E -x c - >/dev/null 2>&1 && echo yes)
RDMA_MISSING = rdma-core's headers (infiniband/verbs.h, rdma/rdma_cma.h) are missing: install \
	libibverbs-dev and librdmacm-dev (scripts/deps.sh), or build with RDMA=no
RDMA_ON := $(call build_switch,RDMA,RDMA_HDRS,RDMA_MISSING)
ifeq ($(RDMA_ON),yes)
RDMA_LIBS := -libverbs -lrdmacm
CPPFLAGS_ALL += -DOSCI_HAVE_RDMA=1
else
RDMA_LIBS :=
endif

# The PCI shared-memory device layer (libpciaccess): the pcishm driver (driver/pcishm/, docs/pcishm.md) and
# the ivshmem-doorbell layer under NvSciIpc's INTER_VM (common/osci_ivshmem.c). PCISHM=yes, no, or auto
# (the default: yes when <pciaccess.h> is there, or when scripts/deps.sh is about to install it in this
# build folder's first build). With PCISHM=no neither is compiled, nothing links libpciaccess, an
# adapter line naming pcishm gets the registry's "this build has no pcishm support", and INTER_VM
# endpoints open with NotSupported (docs/nvsciipc.md).
PCISHM ?= auto
PCISHM_HDRS = $(shell printf '\#include <pciaccess.h>\n' | $(CC) $(CPPFLAGS) -E -x c - >/dev/null 2>&1 && echo yes)
PCISHM_MISSING = <pciaccess.h> is missing: install libpciaccess-dev (scripts/deps.sh), or build with PCISHM=no
PCISHM_ON := $(call build_switch,PCISHM,PCISHM_HDRS,PCISHM_MISSING)
ifeq ($(PCISHM_ON),yes)
PCISHM_LIBS := -lpciaccess
CPPFLAGS_ALL += -DOSCI_HAVE_PCISHM=1
else
PCISHM_LIBS :=
endif

# ---- sources ----
COMMON_SRC := $(sort $(filter-out $(if $(filter no,$(PCISHM_ON)),common/osci_ivshmem.c),$(wildcard common/*.c)))
# The one logger lives in libsisci; the other libraries reach it there (docs/logging.md).
LOG_SRC := common/osci_log.c
DRV_SRC := $(sort $(filter-out $(if $(filter no,$(RDMA_ON)),driver/rdma/%) $(if $(filter no,$(PCISHM_ON)),driver/pcishm/%),$(wildcard driver/*/*.c)))
SEG_SRC := $(sort $(wildcard libseg/*.c))
EVT_SRC := $(sort $(wildcard libipc/event*.c))
IPC_SRC := $(sort $(filter-out $(EVT_SRC),$(wildcard libipc/*.c)))
# libbuf/nvscibuf*.c form libnvscibuf, the other libbuf/*.c libopensci-buf.
NVSCIBUF_SRC := $(sort $(wildcard libbuf/nvscibuf*.c))
BUF_SRC := $(sort $(filter-out $(NVSCIBUF_SRC),$(wildcard libbuf/*.c)))

obj = $(patsubst %.c,$(O)/obj/%.o,$(1))

# The driver layer (and so libsisci and libosci-drv.a) carries common/.
DRV_OBJ := $(call obj,$(DRV_SRC) $(COMMON_SRC))
SISCI_OBJ := $(DRV_OBJ) $(call obj,$(SEG_SRC))
EVT_OBJ := $(call obj,$(EVT_SRC))
# libnvsciipc carries its own copy of common/ (with the opensci.conf parser) but not the logger.
IPC_OBJ := $(call obj,$(IPC_SRC) $(filter-out $(LOG_SRC),$(COMMON_SRC)))
BUF_OBJ := $(call obj,$(BUF_SRC))
# libnvscibuf carries its own hidden copy of common/osci_proc.c (owner liveness of its shared memory).
NVSCIBUF_OBJ := $(call obj,$(NVSCIBUF_SRC) common/osci_proc.c)

L := $(O)/lib
LIBS_SO := $(L)/libsisci.so.$(SOVER)
LIBS_A := $(L)/libsisci.a
ifneq ($(EVT_SRC),)
LIBS_SO += $(L)/libnvscievent.so.$(SOVER)
LIBS_A += $(L)/libnvscievent.a
endif
ifneq ($(IPC_SRC),)
LIBS_SO += $(L)/libnvsciipc.so.$(SOVER)
LIBS_A += $(L)/libnvsciipc.a
endif
ifneq ($(BUF_SRC),)
LIBS_SO += $(L)/libopensci-buf.so.$(SOVER)
LIBS_A += $(L)/libopensci-buf.a
endif
ifneq ($(NVSCIBUF_SRC),)
LIBS_SO += $(L)/libnvscibuf.so.$(SOVER)
LIBS_A += $(L)/libnvscibuf.a
endif

# ---- tools ----
# Every folder of tools/ is a tool but tools/common/, whose sources go into each tool.
TOOL_DIRS := $(sort $(filter-out common,$(patsubst tools/%/,%,$(wildcard tools/*/))))
TOOL_COMMON_SRC := $(sort $(wildcard tools/common/*.c))
TOOL_FILES := $(sort $(basename $(notdir $(wildcard tools/*.c))))
TOOLS := $(addprefix $(O)/bin/,$(TOOL_DIRS) $(TOOL_FILES))

# ---- tests ----
# Without rdma: no tests/drv/test_rdma, no rdma fuzzers, no lab programs (the lab is rdma's).
NEED_RDMA := $(if $(filter no,$(RDMA_ON)),tests/drv/test_rdma.c tests/fuzz/fuzz_rdma_%.c tests/rdmalab/%.c)
TEST_SRC := $(sort $(filter-out $(NEED_RDMA),$(wildcard tests/*/test_*.c)))
TEST_COMMON := $(sort $(wildcard tests/common/*.c))
TESTS := $(patsubst tests/%.c,$(O)/tests/%,$(TEST_SRC))
# Programs the two-host lab runs in its guests (built with the tests, not run on the host).
LAB_SRC := $(sort $(filter-out $(NEED_RDMA),$(wildcard tests/rdmalab/*.c)))
LAB_PROGS := $(patsubst tests/%.c,$(O)/tests/%,$(LAB_SRC))
FUZZ_SRC := $(sort $(filter-out $(NEED_RDMA),$(wildcard tests/fuzz/fuzz_*.c)))
FUZZERS := $(patsubst tests/fuzz/%.c,$(O)/fuzz/%,$(FUZZ_SRC))

STATIC_LIBS := $(filter %libnvsciipc.a,$(LIBS_A)) $(filter %libopensci-buf.a,$(LIBS_A)) \
               $(filter %libnvscievent.a,$(LIBS_A)) $(L)/libsisci.a
# libnvscibuf first: it uses libnvsciipc and libsisci.
STATIC_LIBS := $(filter %libnvscibuf.a,$(LIBS_A)) $(STATIC_LIBS)
SYS_LIBS := $(RDMA_LIBS) $(PCISHM_LIBS) -lrt -lm

.SECONDARY:
.PHONY: all libs tools tests check check-unit check-asan check-tsan demo install vmcheck clean deps fuzz

all: libs tools

deps: $(DEPS_STAMP)
ifneq ($(DEPS_STAMP),)
$(DEPS_STAMP):
	@OSCI_RDMA=$(RDMA_ON) OSCI_PCISHM=$(PCISHM_ON) bash scripts/deps.sh
	@mkdir -p $(dir $@) && touch $@
endif

libs: $(LIBS_SO) $(LIBS_A)
tools: $(TOOLS)
tests: $(TESTS) $(FUZZERS) $(LAB_PROGS)

$(O)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS_ALL) $(INC_$(firstword $(subst /, ,$*))) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

# The registry is compiled again when RDMA's outcome changes in a build folder.
$(O)/obj/driver/core/registry.o: $(O)/.rdma-$(RDMA_ON) $(O)/.pcishm-$(PCISHM_ON)
$(O)/.rdma-$(RDMA_ON):
	@mkdir -p $(O) && rm -f $(O)/.rdma-* && touch $@
# ... and the INTER_VM backend when PCISHM's does.
$(O)/obj/libipc/ipc_vm.o: $(O)/.pcishm-$(PCISHM_ON)
$(O)/.pcishm-$(PCISHM_ON):
	@mkdir -p $(O) && rm -f $(O)/.pcishm-* && touch $@

# Each shared library's exports: a linker version script beside its sources (docs/packaging.md "Exported
# symbols"); a symbol is exported when the source marks it and its map lists it (local: * hides the rest).
VSCRIPT_sisci := libseg/libsisci.map
VSCRIPT_nvscievent := libipc/libnvscievent.map
VSCRIPT_nvsciipc := libipc/libnvsciipc.map
VSCRIPT_opensci-buf := libbuf/libopensci-buf.map
VSCRIPT_nvscibuf := libbuf/libnvscibuf.map
comma := ,
vscript = $(if $(VSCRIPT_$(1)),-Wl$(comma)--version-script=$(VSCRIPT_$(1)) -Wl$(comma)--no-undefined-version)

# The build tree's libraries find each other beside them ($$ORIGIN); `make install` links its own copies
# without a run path (install-lib below).
define shlib
$(L)/lib$(1).so.$(SOVER): $(2) $(4) $(VSCRIPT_$(1))
	@mkdir -p $(L)
	$(CC) -shared -Wl,-soname,lib$(1).so.$(SOVER) -Wl,--no-undefined $(call vscript,$(1)) \
		-o $(L)/lib$(1).so.$(LIBVER) $(2) $(LDFLAGS_ALL) -L$(L) $(3) -Wl,-rpath,'$$$$ORIGIN'
	ln -sf lib$(1).so.$(LIBVER) $$@
	ln -sf lib$(1).so.$(SOVER) $(L)/lib$(1).so
$(O)/inst/lib/lib$(1).so.$(LIBVER): $(2) $(4) $(VSCRIPT_$(1))
	@mkdir -p $(O)/inst/lib
	$(CC) -shared -Wl,-soname,lib$(1).so.$(SOVER) -Wl,--no-undefined $(call vscript,$(1)) -o $$@ $(2) \
		$(LDFLAGS_ALL) -L$(L) $(3)
$(L)/lib$(1).a: $(2)
	@mkdir -p $(L)
	rm -f $$@ && ar rcs $$@ $(2)
endef
$(eval $(call shlib,sisci,$(SISCI_OBJ),$(SYS_LIBS),))
$(eval $(call shlib,nvscievent,$(EVT_OBJ),-lrt,))
$(eval $(call shlib,nvsciipc,$(IPC_OBJ),-lnvscievent -lsisci $(PCISHM_LIBS) -lrt,$(L)/libnvscievent.so.$(SOVER) $(L)/libsisci.so.$(SOVER)))
$(eval $(call shlib,opensci-buf,$(BUF_OBJ),-lnvsciipc -lnvscievent -lsisci -lrt,$(filter-out %opensci-buf.so.$(SOVER),$(LIBS_SO))))
$(eval $(call shlib,nvscibuf,$(NVSCIBUF_OBJ),-lnvsciipc -lnvscievent -lsisci -lrt,$(L)/libnvsciipc.so.$(SOVER) $(L)/libnvscievent.so.$(SOVER) $(L)/libsisci.so.$(SOVER)))

# Tools link the shared libraries and find them beside them: bin/../lib.
TOOL_LIBS := -L$(L) $(patsubst $(L)/lib%.so.$(SOVER),-l%,$(LIBS_SO)) -lm -lrt
TOOL_LDLIBS := $(TOOL_LIBS) -Wl,-rpath,'$$ORIGIN/../lib'
.SECONDEXPANSION:
$(O)/bin/%: $$(call obj,$$(wildcard tools/$$*/*.c) $$(wildcard tools/$$*.c) $(TOOL_COMMON_SRC)) $(LIBS_SO)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $(filter %.o,$^) $(LDFLAGS_ALL) $(TOOL_LDLIBS)
# Installed tools: no run path into the build tree; one to LIBDIR when that is not searched by default.
INST_RPATH = $(if $(filter /usr/lib% /lib% /usr/local/lib,$(LIBDIR)),,-Wl,-rpath,$(LIBDIR))
$(O)/inst/bin/%: $$(call obj,$$(wildcard tools/$$*/*.c) $$(wildcard tools/$$*.c) $(TOOL_COMMON_SRC)) $(LIBS_SO)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $(filter %.o,$^) $(LDFLAGS_ALL) $(TOOL_LIBS) $(INST_RPATH)

# Tests link the static libraries, so internal symbols are reachable.
TEST_COMMON_OBJ := $(call obj,$(TEST_COMMON))
$(O)/tests/%: $(O)/obj/tests/%.o $(TEST_COMMON_OBJ) $(LIBS_A)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $< $(TEST_COMMON_OBJ) $(LDFLAGS_ALL) $(STATIC_LIBS) -lcmocka $(SYS_LIBS)

# tests/drv/ exercise the driver layer alone.
$(L)/libosci-drv.a: $(DRV_OBJ)
	@mkdir -p $(L)
	rm -f $@ && ar rcs $@ $(DRV_OBJ)
$(O)/tests/drv/%: $(O)/obj/tests/drv/%.o $(TEST_COMMON_OBJ) $(L)/libosci-drv.a
	@mkdir -p $(dir $@)
	$(CC) -o $@ $< $(TEST_COMMON_OBJ) $(LDFLAGS_ALL) $(L)/libosci-drv.a -lcmocka $(SYS_LIBS)

$(O)/fuzz/%: $(O)/obj/tests/fuzz/%.o $(O)/obj/tests/fuzz/standalone.o $(LIBS_A)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $< $(O)/obj/tests/fuzz/standalone.o $(LDFLAGS_ALL) $(STATIC_LIBS) $(SYS_LIBS)

# ---- running ----
JOBS := -j$(shell nproc 2>/dev/null || echo 2)
TSAN_TESTS := $(addprefix $(O)/tests/,$(shell grep -v '^\#' tests/tsan.list 2>/dev/null))

check: | $(DEPS_STAMP)
	@$(MAKE) --no-print-directory -s $(JOBS) all tests
	@rm -f build/check-result.* build-asan/check-result.* build-tsan/check-result.*
	@status=0; \
	$(MAKE) --no-print-directory check-unit || status=1; \
	$(MAKE) --no-print-directory -s $(JOBS) SAN=asan all tests || status=1; \
	$(MAKE) --no-print-directory SAN=asan check-unit || status=1; \
	$(MAKE) --no-print-directory -s $(JOBS) SAN=tsan $(subst $(O)/,build-tsan/,$(TSAN_TESTS)) || status=1; \
	$(MAKE) --no-print-directory SAN=tsan check-tsan || status=1; \
	bash tests/summary.sh build/check-result.all build-asan/check-result.all build-tsan/check-result.tsan; \
	exit $$status

check-unit: tests tools
	@bash tests/run.sh $(O) all

check-tsan: $(TSAN_TESTS)
	@bash tests/run.sh $(O) tsan

# The compiler lines go to $(O)/build.log (shown when the build fails), so they do not bury the demo's output.
demo: | $(DEPS_STAMP)
	@mkdir -p $(O) && echo "demo: building (make all; compiler output in $(O)/build.log)"
	@$(MAKE) --no-print-directory all > $(O)/build.log 2>&1 || { cat $(O)/build.log; echo "demo: build failed"; exit 1; }
	@echo "demo: built $(notdir $(LIBS_SO)) and $(notdir $(TOOLS)) in $(O)/"
	@bash tools/demo.sh $(O)

vmcheck: all tests
	@if [ "$(RDMA_ON)" = no ]; then echo "vmcheck: the lab tests the rdma driver; this build has none (RDMA=no)"; \
		exit 1; fi
	@bash tests/vmlab/run.sh $(O)

# clang and libFuzzer are installed for this target only (scripts/deps.sh fuzz).
fuzz:
	@OSCI_RDMA=$(RDMA_ON) OSCI_PCISHM=$(PCISHM_ON) bash scripts/deps.sh fuzz
	@RDMA=$(RDMA_ON) bash tests/fuzz/libfuzzer.sh

# ---- install ----
# make install [PREFIX=/usr/local] [DESTDIR=] [LIBDIR= INCLUDEDIR= BINDIR= MANDIR=]; make uninstall (same variables)
#   $(LIBDIR)                 lib*.so.$(LIBVER), lib*.so.$(SOVER) -> it, lib*.so -> that, lib*.a; pkgconfig/*.pc
#   $(INCLUDEDIR)/opensci/    every public header (the .pc Cflags name this folder, so <sisci_api.h> and
#                             <nvsciipc.h> do not collide with Dolphin's or NVIDIA's SDK), with osci.h
#                             (<opensci/osci.h> as in the tree) and dis/dis_types.h
#   $(BINDIR)                 the tools; $(MANDIR)/man[157] the man pages (man/, and docs/man/ not in man/)
# The installed libraries and tools are linked again without the build tree's run paths ($(O)/inst).
# ldconfig runs when installing to this system (no DESTDIR) as root.
PCS := $(patsubst packaging/%.pc.in,%,$(wildcard packaging/*.pc.in))
HEADERS := $(wildcard include/*.h)
MAN_SRC := $(sort $(wildcard man/*.[157]) \
           $(filter-out $(addprefix docs/man/,$(notdir $(wildcard man/*))),$(wildcard docs/man/*.[157])))
LIB_NAMES := $(patsubst $(L)/lib%.so.$(SOVER),%,$(LIBS_SO))
INST_LIBS := $(patsubst %,$(O)/inst/lib/lib%.so.$(LIBVER),$(LIB_NAMES))
INST_TOOLS := $(patsubst $(O)/bin/%,$(O)/inst/bin/%,$(TOOLS))
D := $(DESTDIR)

.PHONY: uninstall install-files
install: all
	@rm -rf $(O)/inst
	@$(MAKE) --no-print-directory install-files PREFIX='$(PREFIX)' LIBDIR='$(LIBDIR)' INCLUDEDIR='$(INCLUDEDIR)' \
		BINDIR='$(BINDIR)' MANDIR='$(MANDIR)' DESTDIR='$(DESTDIR)'
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then \
		echo "ldconfig"; ldconfig; fi

install-files: $(INST_LIBS) $(INST_TOOLS)
	install -d $(D)$(LIBDIR)/pkgconfig $(D)$(INCLUDEDIR)/opensci/dis $(D)$(BINDIR)
	install -m 0644 $(HEADERS) include/opensci/*.h $(D)$(INCLUDEDIR)/opensci/
	install -m 0644 include/dis/*.h $(D)$(INCLUDEDIR)/opensci/dis/
	for n in $(LIB_NAMES); do \
		install -m 0644 $(O)/inst/lib/lib$$n.so.$(LIBVER) $(D)$(LIBDIR)/ && \
		ln -sfn lib$$n.so.$(LIBVER) $(D)$(LIBDIR)/lib$$n.so.$(SOVER) && \
		ln -sfn lib$$n.so.$(SOVER) $(D)$(LIBDIR)/lib$$n.so && \
		install -m 0644 $(L)/lib$$n.a $(D)$(LIBDIR)/ || exit 1; done
	install -m 0755 $(INST_TOOLS) $(D)$(BINDIR)/
	for f in $(MAN_SRC); do s=$${f##*.}; install -d $(D)$(MANDIR)/man$$s && \
		install -m 0644 $$f $(D)$(MANDIR)/man$$s/ || exit 1; done
	for p in $(PCS); do sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
		$(if $(filter no,$(RDMA_ON)),-e '/^Requires.private: libibverbs librdmacm$$/d') \
		$(if $(filter no,$(PCISHM_ON)),-e 's/^Libs.private: -lpciaccess /Libs.private: /') \
		packaging/$$p.pc.in > $(D)$(LIBDIR)/pkgconfig/$$p.pc || exit 1; done

# Removes exactly what install installs (the same variables must be given), then the folders it made
# when they are left empty.
uninstall:
	rm -f $(addprefix $(D)$(INCLUDEDIR)/opensci/,$(notdir $(HEADERS))) \
		$(addprefix $(D)$(INCLUDEDIR)/opensci/,$(notdir $(wildcard include/opensci/*.h))) \
		$(addprefix $(D)$(INCLUDEDIR)/opensci/dis/,$(notdir $(wildcard include/dis/*.h)))
	for n in $(LIB_NAMES); do rm -f $(D)$(LIBDIR)/lib$$n.so.$(LIBVER) $(D)$(LIBDIR)/lib$$n.so.$(SOVER) \
		$(D)$(LIBDIR)/lib$$n.so $(D)$(LIBDIR)/lib$$n.a; done
	rm -f $(addprefix $(D)$(BINDIR)/,$(notdir $(TOOLS)))
	for f in $(MAN_SRC); do rm -f $(D)$(MANDIR)/man$${f##*.}/$${f##*/}; done
	rm -f $(patsubst %,$(D)$(LIBDIR)/pkgconfig/%.pc,$(PCS))
	-rmdir $(D)$(INCLUDEDIR)/opensci/dis $(D)$(INCLUDEDIR)/opensci 2>/dev/null
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then \
		echo "ldconfig"; ldconfig; fi

clean:
	rm -rf build build-asan build-tsan

-include $(shell find $(O)/obj -name '*.d' 2>/dev/null)
