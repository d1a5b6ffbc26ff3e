#ifndef PIPETRACE_CLIBBPF_SHIM_H
#define PIPETRACE_CLIBBPF_SHIM_H
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#endif
