#ifndef PIPETRACE_CLIBBPF_SHIM_H
#define PIPETRACE_CLIBBPF_SHIM_H
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>

/* libbpf's message formatted whole, in memory the caller frees: a verifier
 * log is one message of up to megabytes, and the part that explains a
 * rejection is at its end. NULL if formatting failed. */
static inline char *pt_format_message(const char *format, va_list args)
{
	va_list copy;
	va_copy(copy, args);
	int n = vsnprintf(NULL, 0, format, copy);
	va_end(copy);
	if (n < 0)
		return NULL;
	char *out = malloc((size_t)n + 1);
	if (out)
		vsnprintf(out, (size_t)n + 1, format, args);
	return out;
}

/* The instructions the verifier processed to accept a loaded program (5.16+), or -1. */
static inline long long pt_verified_instructions(int prog_fd)
{
	struct bpf_prog_info info = {0};
	__u32 len = sizeof(info);
	if (prog_fd < 0 || bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0)
		return -1;
	return len >= offsetof(struct bpf_prog_info, verified_insns) + sizeof(info.verified_insns) ? info.verified_insns : -1;
}

/* BTF kinds with one Swift type (the anonymous enum imports ambiguously). */
static const __u32 PT_BTF_KIND_TYPEDEF = BTF_KIND_TYPEDEF;
static const __u32 PT_BTF_KIND_STRUCT = BTF_KIND_STRUCT;
static const __u32 PT_BTF_KIND_FUNC_PROTO = BTF_KIND_FUNC_PROTO;
static const __u32 PT_BTF_KIND_DATASEC = BTF_KIND_DATASEC;
#endif
