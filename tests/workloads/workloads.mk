# Reference training workloads (tests/workloads/README.md): trainsim and the stub
# CUDA driver library it dlopen()s in device-wait mode.  Needs only cc.

WL_TRAINSIM_SRCS := tests/workloads/trainsim.c tests/workloads/ts_opts.c \
		    tests/workloads/ts_worker.c tests/workloads/ts_aux.c \
		    tests/workloads/ts_util.c
WL_TRAINSIM_OBJS := $(WL_TRAINSIM_SRCS:%.c=$(BUILD)/%.o)
WL_STUB_OBJ      := $(BUILD)/tests/workloads/cuda_stub.o

all: $(BUILD)/tests/trainsim $(BUILD)/tests/stubcuda/libcuda.so.1

$(BUILD)/tests/trainsim: $(WL_TRAINSIM_OBJS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@ -ldl -lpthread -lm

# Position-independent, default-hidden so only the CUDA names are exported.
$(WL_STUB_OBJ): CFLAGS += -fPIC -fvisibility=hidden

$(BUILD)/tests/stubcuda/libcuda.so.1: $(WL_STUB_OBJ)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -shared -Wl,-soname,libcuda.so.1 $^ -o $@
