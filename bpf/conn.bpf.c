// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Connections: connect()/accept() open one (and tell which end is the
 * client), close() of its descriptor and sock/inet_sock_set_state follow it
 * to the end. The connection table entry is dropped when TCP reaches CLOSE.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define TCP_SYN_SENT 2
#define TCP_CLOSE 7

/* connect()'s descriptor, kept from sys_enter to sys_exit. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u32);
} pt_connect_fds SEC(".maps");

static __always_inline void pt_emit_open(__s64 fd, __u16 role, __s32 ret)
{
	struct sock *sk = pt_tcp_sock_of_fd(fd);
	struct pt_conn_event ev = {};

	if (!sk)
		return;
	struct pt_conn *c = pt_conn_of(sk, role);
	pt_fill_task_header(&ev.hdr, PT_EVENT_CONN_OPEN, sk, c);
	if (!pt_sock_traced(ev.hdr.netns, ev.hdr.cgroup_id, &ev.hdr.tuple))
		return;
	ev.fd = fd;
	ev.role = role;
	ev.ret = ret;
	pt_submit(&ev, sizeof(ev));
}

SEC("tp/syscalls/sys_enter_connect")
int handle_enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 fd = ctx->args[0];

	if (pt_pid_traced(pid_tgid >> 32))
		bpf_map_update_elem(&pt_connect_fds, &pid_tgid, &fd, BPF_ANY);
	return 0;
}

SEC("tp/syscalls/sys_exit_connect")
int handle_exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 *fdp = bpf_map_lookup_elem(&pt_connect_fds, &pid_tgid);

	if (!fdp)
		return 0;
	__u32 fd = *fdp;
	bpf_map_delete_elem(&pt_connect_fds, &pid_tgid);
	if (ctx->ret == 0 || ctx->ret == -EINPROGRESS)
		pt_emit_open(fd, PT_ROLE_CLIENT, ctx->ret);
	return 0;
}

static __always_inline int pt_accept_exit(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret < 0 || !pt_pid_traced(bpf_get_current_pid_tgid() >> 32))
		return 0;
	pt_emit_open(ctx->ret, PT_ROLE_SERVER, 0);
	return 0;
}

SEC("tp/syscalls/sys_exit_accept")
int handle_exit_accept(struct trace_event_raw_sys_exit *ctx)
{
	return pt_accept_exit(ctx);
}

SEC("tp/syscalls/sys_exit_accept4")
int handle_exit_accept4(struct trace_event_raw_sys_exit *ctx)
{
	return pt_accept_exit(ctx);
}

/* At sys_enter: after close() the descriptor no longer leads to the socket. */
SEC("tp/syscalls/sys_enter_close")
int handle_enter_close(struct trace_event_raw_sys_enter *ctx)
{
	if (!pt_pid_traced(bpf_get_current_pid_tgid() >> 32))
		return 0;
	struct sock *sk = pt_tcp_sock_of_fd((__s64)ctx->args[0]);
	if (!sk)
		return 0;

	__u64 key = (__u64)sk;
	struct pt_conn *c = bpf_map_lookup_elem(&pt_conns, &key);
	struct pt_conn_event ev = {};
	pt_fill_task_header(&ev.hdr, PT_EVENT_CONN_CLOSE, sk, c);
	if (!pt_sock_traced(ev.hdr.netns, ev.hdr.cgroup_id, &ev.hdr.tuple))
		return 0;
	ev.fd = ctx->args[0];
	ev.role = c ? c->role : PT_ROLE_UNKNOWN;
	pt_submit(&ev, sizeof(ev));
	return 0;
}

/* Remembers (listening) or forgets (closing) the owner of a listening socket. */
static __always_inline void pt_note_listener(const struct sock *sk, bool listening)
{
	struct pt_listener_key key = { .netns = pt_netns_of(sk), .port = BPF_CORE_READ(sk, __sk_common.skc_num) };

	if (listening) {
		__u64 pid_tgid = bpf_get_current_pid_tgid();
		struct pt_listener l = {
			.sk = (__u64)sk,
			.cgroup_id = bpf_get_current_cgroup_id(),
			.pid = pid_tgid >> 32,
			.tid = (__u32)pid_tgid,
		};
		bpf_get_current_comm(l.comm, sizeof(l.comm));
		bpf_map_update_elem(&pt_listeners, &key, &l, BPF_ANY);
		return;
	}
	/* A socket cloned from a listener starts in its state: only the listener itself is forgotten. */
	struct pt_listener *l = bpf_map_lookup_elem(&pt_listeners, &key);
	if (l && l->sk == (__u64)sk)
		bpf_map_delete_elem(&pt_listeners, &key);
}

/* Typed arguments (tp_btf): the raw tracepoint struct changed across kernels. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(handle_set_state, const struct sock *sk, int oldstate, int newstate)
{
	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;

	struct pt_state_event ev = {};
	/* CLOSE -> SYN_SENT runs inside connect(), in the connecting task: the
	 * one moment a client socket's owner is known before connect() returns. */
	if (newstate == TCP_SYN_SENT && pt_pid_traced(bpf_get_current_pid_tgid() >> 32))
		pt_conn_of(sk, PT_ROLE_CLIENT);
	/* CLOSE -> LISTEN runs inside listen(), in the listening task. */
	if (newstate == TCP_LISTEN || oldstate == TCP_LISTEN)
		pt_note_listener(sk, newstate == TCP_LISTEN);
	pt_fill_sock_header(&ev.hdr, PT_EVENT_STATE, sk);
	ev.old_state = oldstate;
	ev.new_state = newstate;
	if (pt_owner_traced(&ev.hdr))
		pt_submit(&ev, sizeof(ev));
	if (newstate == TCP_CLOSE) {
		__u64 key = (__u64)sk;
		struct pt_conn *c = bpf_map_lookup_elem(&pt_conns, &key);
		if (c)
			c->closed = 1;
	}
	return 0;
}
