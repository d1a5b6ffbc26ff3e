#ifndef PIPETRACE_CLIBBPF_SHIM_H
#define PIPETRACE_CLIBBPF_SHIM_H
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>

/* BTF kinds with one Swift type (the anonymous enum imports ambiguously). */
static const __u32 PT_BTF_KIND_TYPEDEF = BTF_KIND_TYPEDEF;
static const __u32 PT_BTF_KIND_STRUCT = BTF_KIND_STRUCT;
static const __u32 PT_BTF_KIND_FUNC_PROTO = BTF_KIND_FUNC_PROTO;
static const __u32 PT_BTF_KIND_DATASEC = BTF_KIND_DATASEC;
#endif
