#include <string.h>
#include "pipetrace_bpf.h"

#if __has_include("generated/pipetrace_bpf_objects.h")
#include "generated/pipetrace_bpf_objects.h"

const void *pipetrace_bpf_object(const char *name, size_t *size)
{
	if (strcmp(name, "sockio") == 0)
		return pt_sockio__elf_bytes(size);
	if (strcmp(name, "conn") == 0)
		return pt_conn__elf_bytes(size);
	if (strcmp(name, "tcp") == 0)
		return pt_tcp__elf_bytes(size);
	if (strcmp(name, "packets") == 0)
		return pt_packets__elf_bytes(size);
	*size = 0;
	return NULL;
}
#else
const void *pipetrace_bpf_object(const char *name, size_t *size)
{
	(void)name;
	*size = 0;
	return NULL;
}
#endif
