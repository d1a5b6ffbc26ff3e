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
	pt_tls_call_begin(tid, &call);
	return 0;
}

/* Sends `n` plaintext bytes at `buf` of the TLS connection on socket `sk`. */
static __always_inline void pt_tls_emit(__u64 sk, __u32 fd, __u64 buf, __u64 n, __u64 enter_ts, __u16 direction,
					__u16 syscall)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct pt_tls_scratch *s = bpf_map_lookup_elem(&pt_tls_scratch, &cpu);
	if (!s)
		return;
	struct pt_conn *c = pt_conn_of((const struct sock *)sk, PT_ROLE_UNKNOWN);
	if (!c)
		return; /* counted: its facts could not be kept */
	c->tls = 1;
	if (!pt_data_header(&s->ev, (const struct sock *)sk, c))
		return;
	s->ev.enter_ts = enter_ts;
	s->ev.len = n;
	s->ev.fd = fd;
	s->ev.direction = direction;
	s->ev.syscall = syscall;
	s->ev.flags = PT_DATA_TLS;
	s->ev.role = c->role;

	__u32 cap = payload_cap > PT_MAX_PAYLOAD ? PT_MAX_PAYLOAD : payload_cap;
	__u32 copy = n < cap ? n : cap;
	if (copy > PT_MAX_PAYLOAD)
		copy = PT_MAX_PAYLOAD;
	if (copy && bpf_probe_read_user(s->ev.payload, copy, (const void *)buf)) {
		s->ev.flags |= PT_DATA_READ_FAULT;
		copy = 0;
	}
	s->ev.captured = copy;
	pt_submit(&s->ev, sizeof(s->ev) + copy);
}

/* The socket of TLS connection object `ssl`: the one a syscall inside this call used, else the one learned before. */
static __always_inline __u64 pt_tls_socket(__u64 ssl, __u64 seen)
{
	if (seen)
		return seen;
	__u64 *known = bpf_map_lookup_elem(&pt_tls_sockets, &ssl);
	if (!known) {
		pt_count(PT_STAT_TLS_NO_SOCKET);
		return 0;
	}
	return *known;
}

/* `ret`: the function's return value (bytes for SSL_read/SSL_write, 1 for the _ex forms). */
static __always_inline int pt_tls_exit(long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pt_tls_call *found = bpf_map_lookup_elem(&pt_tls_calls, &tid);
	if (!found)
		return 0;
	struct pt_tls_call call = *found;
	pt_tls_call_end(tid);
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
	__u64 sk = pt_tls_socket(call.ssl, call.sk);
	if (sk)
		pt_tls_emit(sk, call.fd, call.buf, n, call.enter_ts, call.direction, call.syscall);
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
 * Go's crypto/tls: uprobes on (*Conn).Write and (*Conn).Read at entry and at
 * each of their RET instructions (user space finds them in .gopclntab and the
 * machine code; a uretprobe would rewrite a return address on a goroutine
 * stack that Go moves as it grows). Arguments and results are in registers,
 * by Go's register ABI (Go 1.17+, amd64): the receiver in RAX, the slice b as
 * RBX (pointer), RCX (length), RDI (capacity); the result n in RAX; the
 * running goroutine in R14.
 *
 * A call may start on one thread and end on another (the goroutine waits for
 * data in the netpoller and resumes on whichever thread is free), so it is
 * kept by goroutine. The thread's pt_tls_calls entry, as for OpenSSL, lets the
 * first syscall of the call name the socket; sockio takes it only from the
 * same goroutine.
 */
#if defined(__TARGET_ARCH_x86)
#define PT_GO_RECEIVER(ctx) ((ctx)->ax)
#define PT_GO_SLICE(ctx) ((ctx)->bx)
#define PT_GO_RESULT(ctx) ((long)(ctx)->ax)
#define PT_GO_GOROUTINE(ctx) ((ctx)->r14)
#else
/* Not covered: user space attaches these to x86-64 binaries only. */
#define PT_GO_RECEIVER(ctx) 0
#define PT_GO_SLICE(ctx) 0
#define PT_GO_RESULT(ctx) 0L
#define PT_GO_GOROUTINE(ctx) 0
#endif

struct pt_go_key {
	__u64 goroutine;
	__u32 tgid;
	__u32 pad;
};

struct pt_go_call {
	__u64 conn; /* *tls.Conn */
	__u64 buf;
	__u64 enter_ts;
	__u32 tid;  /* the thread it started on, whose pt_tls_calls entry it owns */
	__u16 direction;
	__u16 syscall;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct pt_go_key);
	__type(value, struct pt_go_call);
} pt_go_calls SEC(".maps");

static __always_inline int pt_go_enter(struct pt_regs *ctx, __u16 direction, __u16 syscall)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)pid_tgid;

	if (!pt_pid_traced(pid_tgid >> 32))
		return 0;
	struct pt_go_key key = { .goroutine = PT_GO_GOROUTINE(ctx), .tgid = pid_tgid >> 32 };
	struct pt_go_call call = {
		.conn = PT_GO_RECEIVER(ctx),
		.buf = PT_GO_SLICE(ctx),
		.enter_ts = bpf_ktime_get_ns(),
		.tid = tid,
		.direction = direction,
		.syscall = syscall,
	};
	struct pt_tls_call thread = {
		.ssl = call.conn,
		.buf = call.buf,
		.enter_ts = call.enter_ts,
		.direction = direction,
		.syscall = syscall,
		.goroutine = key.goroutine,
	};
	bpf_map_update_elem(&pt_go_calls, &key, &call, BPF_ANY);
	pt_tls_call_begin(tid, &thread);
	return 0;
}

static __always_inline int pt_go_exit(struct pt_regs *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct pt_go_key key = { .goroutine = PT_GO_GOROUTINE(ctx), .tgid = pid_tgid >> 32 };
	struct pt_go_call *found = bpf_map_lookup_elem(&pt_go_calls, &key);
	if (!found)
		return 0;
	struct pt_go_call call = *found;
	bpf_map_delete_elem(&pt_go_calls, &key);

	/* The entry on the thread the call started on, if still this call's:
	 * the socket its syscall named, and it must not outlive the call. */
	__u64 seen = 0;
	__u32 fd = 0;
	struct pt_tls_call *thread = bpf_map_lookup_elem(&pt_tls_calls, &call.tid);
	if (thread && thread->goroutine == key.goroutine && thread->enter_ts == call.enter_ts) {
		seen = thread->sk;
		fd = thread->fd;
		pt_tls_call_end(call.tid);
	}
	long n = PT_GO_RESULT(ctx);
	if (n <= 0)
		return 0;
	__u64 sk = pt_tls_socket(call.conn, seen);
	if (sk)
		pt_tls_emit(sk, fd, call.buf, n, call.enter_ts, call.direction, call.syscall);
	return 0;
}

SEC("uprobe")
int handle_go_tls_write(struct pt_regs *ctx)
{
	return pt_go_enter(ctx, PT_DIR_EGRESS, PT_SYS_SSL_WRITE);
}

/* At each RET of (*Conn).Write. */
SEC("uprobe")
int handle_go_tls_write_return(struct pt_regs *ctx)
{
	return pt_go_exit(ctx);
}

SEC("uprobe")
int handle_go_tls_read(struct pt_regs *ctx)
{
	return pt_go_enter(ctx, PT_DIR_INGRESS, PT_SYS_SSL_READ);
}

/* At each RET of (*Conn).Read. */
SEC("uprobe")
int handle_go_tls_read_return(struct pt_regs *ctx)
{
	return pt_go_exit(ctx);
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
