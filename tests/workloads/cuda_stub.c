// SPDX-License-Identifier: MIT
/*
 * Stub CUDA library (built as stubcuda/libcuda.so.1): exports the driver and
 * runtime entry points a training job calls, with C-compatible signatures, so
 * that a tracer can attach to them as it would to the real libcuda.  There is
 * no device: the synchronising calls wait for a fixed time instead.
 *
 *   stub_cuda_set_wait_us(us)  how long each synchronising call waits
 *                              (default: $STUB_CUDA_WAIT_US, else 0)
 *   STUB_CUDA_MODE=block       the thread sleeps (clock_nanosleep), as with
 *                              cudaDeviceScheduleBlockingSync (the default)
 *   STUB_CUDA_MODE=spin        the thread busy-polls the clock on CPU, as the
 *                              real driver does by default
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int CUresult;			/* CUDA_SUCCESS == 0 */
typedef int cudaError_t;		/* cudaSuccess == 0 */
typedef unsigned long long CUdeviceptr;	/* _v2 ABI */
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef struct CUevent_st *CUevent;
typedef struct CUstream_st *cudaStream_t;

#define STUB_EXPORT __attribute__((visibility("default")))

static unsigned int wait_us;
static int spin_mode;
static unsigned long long launches;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The emulated device wait: always the configured time, in the configured mode. */
static void device_wait(void)
{
	uint64_t end = now_ns() + (uint64_t)wait_us * 1000;
	struct timespec ts = {
		.tv_sec = (time_t)(end / 1000000000ull),
		.tv_nsec = (long)(end % 1000000000ull),
	};

	if (!wait_us)
		return;
	if (spin_mode) {
		while (now_ns() < end)
			;
		return;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

__attribute__((constructor)) static void stub_init(void)
{
	const char *mode = getenv("STUB_CUDA_MODE");
	const char *us = getenv("STUB_CUDA_WAIT_US");

	spin_mode = mode && !strcmp(mode, "spin");
	if (us)
		wait_us = (unsigned int)strtoul(us, NULL, 10);
}

STUB_EXPORT void stub_cuda_set_wait_us(unsigned int us)
{
	wait_us = us;
}

STUB_EXPORT CUresult cuInit(unsigned int flags)
{
	(void)flags;
	return 0;
}

STUB_EXPORT CUresult cuLaunchKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY,
				    unsigned int gridDimZ, unsigned int blockDimX,
				    unsigned int blockDimY, unsigned int blockDimZ,
				    unsigned int sharedMemBytes, CUstream hStream,
				    void **kernelParams, void **extra)
{
	/*
	 * Asynchronous, like a real launch: it only queues work.  The count is a plain
	 * per-thread add, not a lock-prefixed one: x86 uprobes cannot single-step a
	 * LOCK instruction, and a function must not begin with one to be probed.
	 */
	static __thread unsigned long long queued;

	queued++;
	__atomic_store_n(&launches, queued, __ATOMIC_RELAXED);
	return 0;
}

STUB_EXPORT CUresult cuStreamSynchronize(CUstream hStream)
{
	device_wait();
	return 0;
}

STUB_EXPORT CUresult cuCtxSynchronize(void)
{
	device_wait();
	return 0;
}

STUB_EXPORT CUresult cuEventSynchronize(CUevent hEvent)
{
	device_wait();
	return 0;
}

/* Synchronous copies wait for the device first, as the real ones do. */
STUB_EXPORT CUresult cuMemcpyDtoH_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount)
{
	device_wait();
	if (dstHost)
		memset(dstHost, 0, ByteCount);
	return 0;
}

STUB_EXPORT cudaError_t cudaDeviceSynchronize(void)
{
	device_wait();
	return 0;
}

STUB_EXPORT cudaError_t cudaStreamSynchronize(cudaStream_t stream)
{
	device_wait();
	return 0;
}

/* kind 2 == cudaMemcpyDeviceToHost: the only direction with a host destination to fill. */
STUB_EXPORT cudaError_t cudaMemcpy(void *dst, const void *src, size_t count, int kind)
{
	device_wait();
	if (dst && kind == 2)
		memset(dst, 0, count);
	return 0;
}
