// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * TLS plaintext: uprobes on OpenSSL's SSL_read, SSL_read_ex, SSL_write,
 * SSL_write_ex (entry and return) and SSL_do_handshake turn what a process
 * reads and writes through libssl into PT_EVENT_DATA with PT_DATA_TLS.
 *
 * The SSL object is tied to its socket by the syscall OpenSSL makes inside
 * the call (sockio's syscall entry fills pt_tls_calls' socket and marks the
 * connection TLS): no offsets into OpenSSL's private structs, so any version
 * that exports these functions works. From then on the socket's own reads
 * and writes are ciphertext, and sockio does not send them. A call served
 * from OpenSSL's buffer, with no syscall, uses the socket learned before
 * (pt_tls_sockets); plaintext of an SSL object never tied to a socket is
 * counted (PT_STAT_TLS_NO_SOCKET) and dropped.
 *
 * sched_process_exec tells user space (through pt_execs) a new program
 * started, so it can look for libssl in the new process and attach to it.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct pt_tls_scratch {
	struct pt_data_event ev;
	__u8 room[2 * PT_MAX_PAYLOAD];
};

/* A slot per CPU (user space sizes it), as sockio's data scratch. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pt_tls_scratch);
} pt_tls_scratch SEC(".maps");

static __always_inline int pt_tls_enter(const void *ssl, const void *buf, const void *len_out, __u32 direction,
					__u32 syscall)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;

	if (!pt_pid_traced(pid_tgid >> 32))
		return 0;
	struct pt_tls_call call = {
		.ssl = (__u64)ssl,
		.buf = (__u64)buf,
		.len_out = (__u64)len_out,
		.enter_ts = bpf_ktime_get_ns(),
		.direction = direction,
		.syscall = syscall,
	};
	bpf_map_update_elem(&pt_tls_calls, &tid, &call, BPF_ANY);
	return 0;
}

/* `ret`: the function's return value (bytes for SSL_read/SSL_write, 1 for the _ex forms). */
static __always_inline int pt_tls_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pt_tls_call *found = bpf_map_lookup_elem(&pt_tls_calls, &tid);
	if (!found)
		return 0;
	struct pt_tls_call call = *found;
	bpf_map_delete_elem(&pt_tls_calls, &tid);
	if (call.syscall == 0)
		return 0; /* a handshake: it only ties the SSL object to its socket */

	__u64 n = 0;
	if (call.len_out) {
		__u64 moved = 0; /* size_t */
		if (ret != 1 || bpf_probe_read_user(&moved, sizeof(moved), (const void *)call.len_out))
			return 0;
		n = moved;
	} else if (ret > 0) {
		n = ret;
	}
	if (n == 0)
		return 0;

	__u64 sk = call.sk;
	if (!sk) {
		__u64 *known = bpf_map_lookup_elem(&pt_tls_sockets, &call.ssl);
		if (!known) {
			pt_count(PT_STAT_TLS_NO_SOCKET);
			return 0;
		}
		sk = *known;
	}

	__u32 cpu = bpf_get_smp_processor_id();
	struct pt_tls_scratch *s = bpf_map_lookup_elem(&pt_tls_scratch, &cpu);
	if (!s)
		return 0;
	struct pt_conn *c = pt_conn_of((const struct sock *)sk, PT_ROLE_UNKNOWN);
	if (c)
		c->tls = 1;
	pt_fill_task_header(&s->ev.hdr, PT_EVENT_DATA, (const struct sock *)sk, c);
	if (!pt_sock_traced(s->ev.hdr.netns, s->ev.hdr.cgroup_id, &s->ev.hdr.tuple))
		return 0;
	s->ev.enter_ts = call.enter_ts;
	s->ev.len = n;
	s->ev.fd = call.fd;
	s->ev.direction = call.direction;
	s->ev.syscall = call.syscall;
	s->ev.flags = PT_DATA_TLS;
	s->ev.role = c ? c->role : PT_ROLE_UNKNOWN;

	__u32 cap = payload_cap > PT_MAX_PAYLOAD ? PT_MAX_PAYLOAD : payload_cap;
	__u32 copy = n < cap ? n : cap;
	if (copy > PT_MAX_PAYLOAD)
		copy = PT_MAX_PAYLOAD;
	if (copy && bpf_probe_read_user(s->ev.payload, copy, (const void *)call.buf)) {
		s->ev.flags |= PT_DATA_READ_FAULT;
		copy = 0;
	}
	s->ev.captured = copy;
	pt_submit(&s->ev, sizeof(s->ev) + copy);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(handle_ssl_write, void *ssl, const void *buf, int num)
{
	return pt_tls_enter(ssl, buf, NULL, PT_DIR_EGRESS, PT_SYS_SSL_WRITE);
}

SEC("uretprobe")
int BPF_KRETPROBE(handle_ssl_write_return, int ret)
{
	return pt_tls_exit(ret);
}

SEC("uprobe")
int BPF_KPROBE(handle_ssl_write_ex, void *ssl, const void *buf, __u64 num, __u64 *written)
{
	return pt_tls_enter(ssl, buf, written, PT_DIR_EGRESS, PT_SYS_SSL_WRITE);
}

SEC("uretprobe")
int BPF_KRETPROBE(handle_ssl_write_ex_return, int ret)
{
	return pt_tls_exit(ret);
}

SEC("uprobe")
int BPF_KPROBE(handle_ssl_read, void *ssl, void *buf, int num)
{
	return pt_tls_enter(ssl, buf, NULL, PT_DIR_INGRESS, PT_SYS_SSL_READ);
}

SEC("uretprobe")
int BPF_KRETPROBE(handle_ssl_read_return, int ret)
{
	return pt_tls_exit(ret);
}

SEC("uprobe")
int BPF_KPROBE(handle_ssl_read_ex, void *ssl, void *buf, __u64 num, __u64 *readbytes)
{
	return pt_tls_enter(ssl, buf, readbytes, PT_DIR_INGRESS, PT_SYS_SSL_READ);
}

SEC("uretprobe")
int BPF_KRETPROBE(handle_ssl_read_ex_return, int ret)
{
	return pt_tls_exit(ret);
}

/* The handshake's reads and writes tie the SSL object to its socket before
 * any plaintext, so the ClientHello is already known as ciphertext. */
SEC("uprobe")
int BPF_KPROBE(handle_ssl_do_handshake, void *ssl)
{
	return pt_tls_enter(ssl, NULL, NULL, 0, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(handle_ssl_do_handshake_return, int ret)
{
	return pt_tls_exit(ret);
}

/*
 * Processes that ran a new program, by pid, for user space to look at for
 * libssl (it takes and deletes them). A map, not the ring buffer: a burst of
 * execs (a shell script's) must never take the room of the traffic's events.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} pt_execs SEC(".maps");

SEC("tp/sched/sched_process_exec")
int handle_exec(void *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 pid = pid_tgid >> 32;

	if (!pt_pid_traced(pid))
		return 0;
	/* Only processes the filters let through. */
	if (filter_by_netns) {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();
		__u32 netns = BPF_CORE_READ(task, nsproxy, net_ns, ns.inum);
		if (!bpf_map_lookup_elem(&pt_filter_netns, &netns))
			return 0;
	}
	if (filter_by_cgroup) {
		__u64 cgroup_id = bpf_get_current_cgroup_id();
		if (!bpf_map_lookup_elem(&pt_filter_cgroups, &cgroup_id))
			return 0;
	}
	__u64 now = bpf_ktime_get_ns();
	bpf_map_update_elem(&pt_execs, &pid, &now, BPF_ANY);
	return 0;
}
