/* The BPF objects built by bpf/Makefile, embedded in the binary. */
#ifndef PIPETRACE_BPF_H
#define PIPETRACE_BPF_H
#include <stddef.h>

/* The ELF bytes of object `name` ("sockio", "conn", "tcp", "packets"), or NULL when the
 * binary was built without running bpf/Makefile first. */
const void *pipetrace_bpf_object(const char *name, size_t *size);

#endif
