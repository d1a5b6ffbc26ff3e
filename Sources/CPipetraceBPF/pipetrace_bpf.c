#include <errno.h>
#include <stdlib.h>
#include "pipetrace_bpf.h"

#if __has_include("generated/pipetrace_bpf_objects.h")
#include "generated/pipetrace_bpf_objects.h"

struct pt_skeleton {
	enum pt_object_kind kind;
	union {
		struct pt_sockio *sockio;
		struct pt_conn *conn;
		struct pt_tcp *tcp;
		struct pt_packets *packets;
		struct pt_tls *tls;
	};
};

bool pt_bpf_embedded(void) { return true; }

/* The settings every object has (common.bpf.h). */
#define PT_COMMON_SETTINGS(rodata, s)                      \
	do {                                               \
		(rodata)->self_tgid = (s)->self_tgid;        \
		(rodata)->payload_cap = (s)->payload_cap;    \
		(rodata)->filter_by_pid = (s)->filter_by_pid; \
		(rodata)->filter_by_netns = (s)->filter_by_netns; \
		(rodata)->filter_by_cgroup = (s)->filter_by_cgroup; \
		(rodata)->filter_by_port = (s)->filter_by_port; \
		(rodata)->wakeup_bytes = (s)->wakeup_bytes;  \
	} while (0)

struct pt_skeleton *pt_skeleton_open(enum pt_object_kind kind, const struct pt_settings *s)
{
	struct pt_skeleton *skel = calloc(1, sizeof(*skel));

	if (!skel)
		return NULL;
	skel->kind = kind;
	switch (kind) {
	case PT_OBJECT_SOCKIO:
		if (!(skel->sockio = pt_sockio__open()))
			break;
		PT_COMMON_SETTINGS(skel->sockio->rodata, s);
		skel->sockio->rodata->sendfile_bytes = s->sendfile_bytes;
		skel->sockio->rodata->test_reject_mmsg = s->test_reject_mmsg;
		return skel;
	case PT_OBJECT_CONN:
		if (!(skel->conn = pt_conn__open()))
			break;
		PT_COMMON_SETTINGS(skel->conn->rodata, s);
		return skel;
	case PT_OBJECT_TCP:
		if (!(skel->tcp = pt_tcp__open()))
			break;
		PT_COMMON_SETTINGS(skel->tcp->rodata, s);
		return skel;
	case PT_OBJECT_PACKETS:
		if (!(skel->packets = pt_packets__open()))
			break;
		PT_COMMON_SETTINGS(skel->packets->rodata, s);
		skel->packets->rodata->snaplen = s->snaplen;
		return skel;
	case PT_OBJECT_TLS:
		if (!(skel->tls = pt_tls__open()))
			break;
		PT_COMMON_SETTINGS(skel->tls->rodata, s);
		return skel;
	default:
		errno = EINVAL;
		break;
	}
	int saved = errno;
	free(skel);
	errno = saved;
	return NULL;
}

struct bpf_object *pt_skeleton_object(const struct pt_skeleton *skel)
{
	switch (skel->kind) {
	case PT_OBJECT_SOCKIO: return skel->sockio->obj;
	case PT_OBJECT_CONN: return skel->conn->obj;
	case PT_OBJECT_TCP: return skel->tcp->obj;
	case PT_OBJECT_PACKETS: return skel->packets->obj;
	case PT_OBJECT_TLS: return skel->tls->obj;
	default: return NULL;
	}
}

#define PT_SHARED_MAPS(m, scratch_map)                                           \
	(struct pt_object_maps) {                                               \
		.events = (m).pt_events, .conns = (m).pt_conns, .listeners = (m).pt_listeners, .conn_seq = (m).pt_conn_seq, \
		.stats = (m).pt_stats, .filter_pids = (m).pt_filter_pids,             \
		.filter_netns = (m).pt_filter_netns, .filter_cgroups = (m).pt_filter_cgroups, \
		.filter_ports = (m).pt_filter_ports, .tls_calls = (m).pt_tls_calls,     \
		.tls_calls_open = (m).pt_tls_calls_open,                               \
		.tls_sockets = (m).pt_tls_sockets, .scratch = (scratch_map),          \
	}

struct pt_object_maps pt_skeleton_maps(const struct pt_skeleton *skel)
{
	switch (skel->kind) {
	case PT_OBJECT_SOCKIO: return PT_SHARED_MAPS(skel->sockio->maps, skel->sockio->maps.pt_data_scratch);
	case PT_OBJECT_CONN: return PT_SHARED_MAPS(skel->conn->maps, NULL);
	case PT_OBJECT_TCP: return PT_SHARED_MAPS(skel->tcp->maps, NULL);
	case PT_OBJECT_PACKETS: return PT_SHARED_MAPS(skel->packets->maps, skel->packets->maps.pt_packet_scratch);
	case PT_OBJECT_TLS: {
		struct pt_object_maps maps = PT_SHARED_MAPS(skel->tls->maps, skel->tls->maps.pt_tls_scratch);
		maps.execs = skel->tls->maps.pt_execs;
		return maps;
	}
	default: return (struct pt_object_maps){0};
	}
}

void pt_skeleton_destroy(struct pt_skeleton *skel)
{
	if (!skel)
		return;
	switch (skel->kind) {
	case PT_OBJECT_SOCKIO: pt_sockio__destroy(skel->sockio); break;
	case PT_OBJECT_CONN: pt_conn__destroy(skel->conn); break;
	case PT_OBJECT_TCP: pt_tcp__destroy(skel->tcp); break;
	case PT_OBJECT_PACKETS: pt_packets__destroy(skel->packets); break;
	case PT_OBJECT_TLS: pt_tls__destroy(skel->tls); break;
	default: break;
	}
	free(skel);
}
#else
bool pt_bpf_embedded(void) { return false; }

struct pt_skeleton *pt_skeleton_open(enum pt_object_kind kind, const struct pt_settings *settings)
{
	(void)kind;
	(void)settings;
	errno = ENOENT;
	return NULL;
}

struct bpf_object *pt_skeleton_object(const struct pt_skeleton *skeleton)
{
	(void)skeleton;
	return NULL;
}

struct pt_object_maps pt_skeleton_maps(const struct pt_skeleton *skeleton)
{
	(void)skeleton;
	return (struct pt_object_maps){0};
}

void pt_skeleton_destroy(struct pt_skeleton *skeleton)
{
	(void)skeleton;
}
#endif
