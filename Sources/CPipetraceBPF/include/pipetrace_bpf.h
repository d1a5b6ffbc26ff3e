/*
 * The BPF objects built by bpf/Makefile, embedded in the binary, reached
 * through their generated skeletons: the settings are the skeletons' typed
 * rodata fields and the maps their named members, so a renamed setting or
 * map fails to compile here instead of failing a lookup by name at run time.
 */
#ifndef PIPETRACE_BPF_H
#define PIPETRACE_BPF_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bpf_object;
struct bpf_map;

enum pt_object_kind {
	PT_OBJECT_SOCKIO,  /* socket I/O: the read and write families, sendfile */
	PT_OBJECT_CONN,    /* connect, accept, close, TCP state changes */
	PT_OBJECT_TCP,     /* retransmits and resets */
	PT_OBJECT_PACKETS, /* packets at cgroup ingress and egress (capture only) */
	PT_OBJECT_TLS,     /* TLS plaintext: uprobes on OpenSSL, and process exec */
	PT_OBJECT_COUNT,
};

/* Every `const volatile` setting of the objects; each object takes those it has. */
struct pt_settings {
	uint32_t self_tgid;
	uint32_t payload_cap;
	bool filter_by_pid;
	bool filter_by_netns;
	bool filter_by_cgroup;
	bool filter_by_port;
	uint64_t wakeup_bytes;
	bool sendfile_bytes;   /* sockio */
	bool test_reject_mmsg; /* sockio; tests only: makes the recvmmsg/sendmmsg programs invalid */
	uint32_t snaplen;      /* packets */
};

/* The maps every object shares (created by the first object loaded), and the
 * object's per-CPU scratch map, NULL when it has none. */
struct pt_object_maps {
	struct bpf_map *events;
	struct bpf_map *conns;
	struct bpf_map *listeners;
	struct bpf_map *conn_seq;
	struct bpf_map *stats;
	struct bpf_map *filter_pids;
	struct bpf_map *filter_netns;
	struct bpf_map *filter_cgroups;
	struct bpf_map *filter_ports;
	struct bpf_map *tls_calls;
	struct bpf_map *tls_calls_open;
	struct bpf_map *tls_sockets;
	struct bpf_map *scratch;
	struct bpf_map *execs; /* tls: pids that ran a new program; NULL elsewhere */
};

/* One opened object: a generated skeleton of the given kind. */
struct pt_skeleton;

/* Whether the binary was built with its BPF objects (bpf/Makefile run first). */
bool pt_bpf_embedded(void);

/* Opens an object from its embedded ELF bytes and writes `settings` into its
 * rodata. NULL with errno set on failure. */
struct pt_skeleton *pt_skeleton_open(enum pt_object_kind kind, const struct pt_settings *settings);
struct bpf_object *pt_skeleton_object(const struct pt_skeleton *skeleton);
struct pt_object_maps pt_skeleton_maps(const struct pt_skeleton *skeleton);
/* Closes the object: unloads what the kernel holds for it. */
void pt_skeleton_destroy(struct pt_skeleton *skeleton);

#endif
