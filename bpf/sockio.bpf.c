// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Socket I/O: every read- and write-family syscall on a TCP socket becomes a
 * PT_EVENT_DATA with the bytes moved. The decision "is this fd a TCP
 * socket?" is made at sys_enter, so other descriptors cost one map-free
 * walk of the fd table and nothing else.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* How the syscall's buffer argument is shaped. */
enum pt_buf_shape {
	PT_SHAPE_BUF = 1,  /* (buf, count) */
	PT_SHAPE_IOV = 2,  /* (iov, iovcnt) */
	PT_SHAPE_MSG = 3,  /* (struct user_msghdr *) */
	PT_SHAPE_MMSG = 4, /* (struct mmsghdr *, vlen) */
	PT_SHAPE_FILE = 5, /* sendfile: bytes come from another file */
};

struct pt_io_args {
	__u64 enter_ts;
	__u64 sk;
	__u64 buf;
	__u64 count;
	__u32 fd;
	__u16 syscall;
	__u16 shape;
	__u16 direction;
	__u16 _pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct pt_io_args);
} pt_io_args SEC(".maps");

/* Room to build one data event: the header, then up to twice the largest
 * cap so that the verifier can see every copy stays inside. */
struct pt_data_scratch {
	struct pt_data_event ev;
	__u8 room[2 * PT_MAX_PAYLOAD];
};

/* A slot per CPU. Not a PERCPU_ARRAY: per-CPU values are limited to 32 KiB.
 * User space sets max_entries to the number of possible CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pt_data_scratch);
} pt_data_scratch SEC(".maps");

static __always_inline int pt_io_enter(struct trace_event_raw_sys_enter *ctx, __u16 syscall,
				       __u16 direction, __u16 shape)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (!pt_pid_traced(pid_tgid >> 32))
		return 0;
	struct sock *sk = pt_tcp_sock_of_fd((__s64)ctx->args[0]);
	if (!sk)
		return 0;

	struct pt_io_args a = {
		.enter_ts = bpf_ktime_get_ns(),
		.sk = (__u64)sk,
		.buf = ctx->args[1],
		.count = ctx->args[2],
		.fd = (__u32)ctx->args[0],
		.syscall = syscall,
		.shape = shape,
		.direction = direction,
	};
	bpf_map_update_elem(&pt_io_args, &pid_tgid, &a, BPF_ANY);
	return 0;
}

/* Copies up to `n` user bytes to payload offset `off`; returns bytes copied. */
static __always_inline __u32 pt_copy_user(struct pt_data_scratch *s, __u32 off, const void *src, __u64 n)
{
	__u32 cap = payload_cap;

	if (cap > PT_MAX_PAYLOAD)
		cap = PT_MAX_PAYLOAD;
	if (off >= cap)
		return 0;
	if (n > cap - off)
		n = cap - off;
	if (n > PT_MAX_PAYLOAD)
		n = PT_MAX_PAYLOAD;
	off &= PT_MAX_PAYLOAD - 1; /* no-op (off < cap), tells the verifier the bound */
	if (bpf_probe_read_user(s->ev.payload + off, n, src)) {
		s->ev.flags |= PT_DATA_READ_FAULT;
		return 0;
	}
	return n;
}

struct pt_iov_walk {
	struct pt_data_scratch *s;
	const struct iovec *iov;
	__u64 iovcnt;
	__u64 total; /* bytes the syscall moved */
	__u64 seen;
	__u32 copied;
};

static long pt_iov_step(__u32 i, void *arg)
{
	struct pt_iov_walk *w = arg;
	struct iovec v;

	if (i >= w->iovcnt || w->seen >= w->total || w->copied >= payload_cap)
		return 1;
	if (bpf_probe_read_user(&v, sizeof(v), &w->iov[i])) {
		w->s->ev.flags |= PT_DATA_READ_FAULT;
		return 1;
	}
	__u64 n = v.iov_len;
	if (n > w->total - w->seen)
		n = w->total - w->seen;
	__u32 got = pt_copy_user(w->s, w->copied, v.iov_base, n);
	w->copied += got;
	w->seen += n;
	return got < n; /* cap reached or fault: the rest is not captured */
}

/*
 * Gathers `total` bytes from an iovec array in order; returns bytes copied.
 * bpf_loop, so the verifier checks one step and not every unrolled state
 * (as a plain loop, readv's program alone exceeds the 1M-insn limit).
 */
static __always_inline __u32 pt_copy_iov(struct pt_data_scratch *s, __u64 iov, __u64 iovcnt, __u64 total)
{
	struct pt_iov_walk w = { .s = s, .iov = (const struct iovec *)iov, .iovcnt = iovcnt, .total = total };

	bpf_loop(PT_MAX_IOV, pt_iov_step, &w, 0);
	return w.copied;
}

static __always_inline struct pt_data_scratch *pt_data_begin(const struct pt_io_args *a, __u64 len)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct pt_data_scratch *s = bpf_map_lookup_elem(&pt_data_scratch, &cpu);
	struct sock *sk = (struct sock *)a->sk;

	if (!s)
		return NULL;
	struct pt_conn *c = pt_conn_of(sk, PT_ROLE_UNKNOWN);
	pt_fill_task_header(&s->ev.hdr, PT_EVENT_DATA, sk, c ? c->id : 0);
	if (!pt_sock_traced(s->ev.hdr.netns, s->ev.hdr.cgroup_id, &s->ev.hdr.tuple))
		return NULL;
	s->ev.enter_ts = a->enter_ts;
	s->ev.len = len;
	s->ev.captured = 0;
	s->ev.fd = a->fd;
	s->ev.direction = a->direction;
	s->ev.syscall = a->syscall;
	s->ev.flags = 0;
	s->ev.role = c ? c->role : PT_ROLE_UNKNOWN;
	return s;
}

static __always_inline void pt_data_submit(struct pt_data_scratch *s, __u32 captured)
{
	if (captured > PT_MAX_PAYLOAD)
		captured = PT_MAX_PAYLOAD;
	s->ev.captured = captured;
	pt_submit(&s->ev, sizeof(s->ev) + captured);
}

/* recvmmsg/sendmmsg: one event per message that moved bytes. */
static __always_inline void pt_emit_mmsg(const struct pt_io_args *a, __u64 nmsgs)
{
	const struct mmsghdr *m = (const struct mmsghdr *)a->buf;

	for (int i = 0; i < PT_MAX_MMSG; i++) {
		struct mmsghdr h;

		if (i >= nmsgs)
			break;
		if (bpf_probe_read_user(&h, sizeof(h), &m[i]))
			break;
		if (h.msg_len == 0)
			continue;
		struct pt_data_scratch *s = pt_data_begin(a, h.msg_len);
		if (!s)
			return;
		__u32 got = pt_copy_iov(s, (__u64)h.msg_hdr.msg_iov, h.msg_hdr.msg_iovlen, h.msg_len);
		pt_data_submit(s, got);
	}
}

static __always_inline int pt_io_exit(struct trace_event_raw_sys_exit *ctx, __u16 shape)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct pt_io_args *ap = bpf_map_lookup_elem(&pt_io_args, &pid_tgid);

	if (!ap)
		return 0;
	struct pt_io_args a = *ap;
	bpf_map_delete_elem(&pt_io_args, &pid_tgid);

	long ret = ctx->ret;
	if (ret <= 0)
		return 0;

	if (shape == PT_SHAPE_MMSG) {
		pt_emit_mmsg(&a, ret);
		return 0;
	}

	struct pt_data_scratch *s = pt_data_begin(&a, ret);
	if (!s)
		return 0;
	__u32 got = 0;
	switch (shape) {
	case PT_SHAPE_BUF:
		got = pt_copy_user(s, 0, (const void *)a.buf, ret);
		break;
	case PT_SHAPE_IOV:
		got = pt_copy_iov(s, a.buf, a.count, ret);
		break;
	case PT_SHAPE_MSG: {
		struct user_msghdr m;
		if (bpf_probe_read_user(&m, sizeof(m), (const void *)a.buf)) {
			s->ev.flags |= PT_DATA_READ_FAULT;
			break;
		}
		got = pt_copy_iov(s, (__u64)m.msg_iov, m.msg_iovlen, ret);
		break;
	}
	case PT_SHAPE_FILE:
		s->ev.flags |= PT_DATA_NO_PAYLOAD;
		break;
	}
	pt_data_submit(s, got);
	return 0;
}

#define PT_IO_SYSCALL(name, sys, dir, shape)                                         \
	SEC("tp/syscalls/sys_enter_" #name)                                            \
	int handle_enter_##name(struct trace_event_raw_sys_enter *ctx)                 \
	{                                                                              \
		return pt_io_enter(ctx, sys, dir, shape);                                  \
	}                                                                              \
	SEC("tp/syscalls/sys_exit_" #name)                                             \
	int handle_exit_##name(struct trace_event_raw_sys_exit *ctx)                   \
	{                                                                              \
		return pt_io_exit(ctx, shape);                                                 \
	}

PT_IO_SYSCALL(read, PT_SYS_READ, PT_DIR_INGRESS, PT_SHAPE_BUF)
PT_IO_SYSCALL(readv, PT_SYS_READV, PT_DIR_INGRESS, PT_SHAPE_IOV)
PT_IO_SYSCALL(recvfrom, PT_SYS_RECVFROM, PT_DIR_INGRESS, PT_SHAPE_BUF)
PT_IO_SYSCALL(recvmsg, PT_SYS_RECVMSG, PT_DIR_INGRESS, PT_SHAPE_MSG)
PT_IO_SYSCALL(recvmmsg, PT_SYS_RECVMMSG, PT_DIR_INGRESS, PT_SHAPE_MMSG)
PT_IO_SYSCALL(write, PT_SYS_WRITE, PT_DIR_EGRESS, PT_SHAPE_BUF)
PT_IO_SYSCALL(writev, PT_SYS_WRITEV, PT_DIR_EGRESS, PT_SHAPE_IOV)
PT_IO_SYSCALL(sendto, PT_SYS_SENDTO, PT_DIR_EGRESS, PT_SHAPE_BUF)
PT_IO_SYSCALL(sendmsg, PT_SYS_SENDMSG, PT_DIR_EGRESS, PT_SHAPE_MSG)
PT_IO_SYSCALL(sendmmsg, PT_SYS_SENDMMSG, PT_DIR_EGRESS, PT_SHAPE_MMSG)
/* x86-64's sendfile(2) is the sendfile64 syscall. */
PT_IO_SYSCALL(sendfile64, PT_SYS_SENDFILE, PT_DIR_EGRESS, PT_SHAPE_FILE)
