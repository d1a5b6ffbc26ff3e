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
	__u32 active; /* between sys_enter and sys_exit of a traced call */
	__u32 seen;   /* this thread made a syscall since the probe attached */
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

/* The call in progress, per thread: task storage, cheaper than a hash
 * update and delete per syscall, and freed with the thread. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct pt_io_args);
} pt_io_args SEC(".maps");

/* Room to build one data event: the header, then up to twice the largest
 * cap so that the verifier can see every copy stays inside. */
struct pt_data_scratch {
	struct pt_data_event ev;
	__u8 room[2 * PT_MAX_PAYLOAD];
};

/* A sendfile() in progress on a socket, by the socket's addresses, so the
 * cgroup egress program can recognise its segments. */
struct pt_flow_key {
	__u8 local[16];
	__u8 remote[16];
	__u16 local_port;
	__u16 remote_port;
};

struct pt_sendfile {
	__u64 conn_id;
	__u32 pid;
	__u32 tid;
	__u32 start_seq; /* sequence number of the first byte the call queues */
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct pt_flow_key);
	__type(value, struct pt_sendfile);
} pt_sendfile_active SEC(".maps");

/* A slot per CPU. Not a PERCPU_ARRAY: per-CPU values are limited to 32 KiB.
 * User space sets max_entries to the number of possible CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pt_data_scratch);
} pt_data_scratch SEC(".maps");

static __always_inline void pt_flow_key_of(const struct sock *sk, struct pt_flow_key *k)
{
	struct pt_tuple t = {};

	pt_read_tuple(sk, &t);
	__builtin_memcpy(k->local, t.saddr, sizeof(k->local));
	__builtin_memcpy(k->remote, t.daddr, sizeof(k->remote));
	k->local_port = t.sport;
	k->remote_port = t.dport;
}

/* Copy sendfile's bytes off the wire (set before load; `export` needs only
 * their length, which the syscall's return gives). */
const volatile bool sendfile_bytes = true;

/* sendfile's bytes never pass through user memory: note where they start in
 * the TCP stream, and let the egress program pick them off the wire. */
static __always_inline void pt_sendfile_begin(struct sock *sk, __u64 pid_tgid)
{
	struct pt_flow_key key = {};

	if (!sendfile_bytes)
		return;

	/* A socket the filters leave out never gets its bytes copied off the wire. */
	if (filter_by_netns || filter_by_cgroup || filter_by_port) {
		struct pt_tuple t = {};
		pt_read_tuple(sk, &t);
		if (!pt_sock_traced(pt_netns_of(sk), bpf_get_current_cgroup_id(), &t))
			return;
	}
	struct pt_conn *c = pt_conn_of(sk, PT_ROLE_UNKNOWN);
	struct pt_sendfile sf = {
		.conn_id = c ? c->id : 0,
		.pid = pid_tgid >> 32,
		.tid = (__u32)pid_tgid,
		.start_seq = BPF_CORE_READ((struct tcp_sock *)sk, write_seq),
	};

	pt_flow_key_of(sk, &key);
	bpf_map_update_elem(&pt_sendfile_active, &key, &sf, BPF_ANY);
}

/* A syscall inside a TLS library call (tls.bpf.c) names the library's socket:
 * remember it for the SSL object, and mark the connection TLS, so that its
 * ciphertext is not sent. */
static __always_inline void pt_tls_socket_seen(struct sock *sk, __u32 tid, __u32 fd)
{
	if (!pt_tls_calls_any())
		return;
	struct pt_tls_call *call = bpf_map_lookup_elem(&pt_tls_calls, &tid);

	if (!call || (call->goroutine && call->goroutine != pt_user_goroutine()))
		return;
	call->sk = (__u64)sk;
	call->fd = fd;
	bpf_map_update_elem(&pt_tls_sockets, &call->ssl, &call->sk, BPF_ANY);
	struct pt_conn *c = pt_conn_of(sk, PT_ROLE_UNKNOWN);
	if (c)
		c->tls = 1;
}

static __always_inline int pt_io_enter(struct trace_event_raw_sys_enter *ctx, __u16 syscall,
				       __u16 direction, __u16 shape)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	if (!pt_pid_traced(pid_tgid >> 32))
		return 0;
	struct sock *sk = pt_tcp_sock_of_fd((__s64)ctx->args[0]);
	if (!sk)
		return 0;
	pt_tls_socket_seen(sk, (__u32)pid_tgid, (__u32)ctx->args[0]);

	struct pt_io_args *a = bpf_task_storage_get(&pt_io_args, bpf_get_current_task_btf(), 0,
						    BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!a)
		return 0;
	a->active = 1;
	a->seen = 1;
	a->enter_ts = bpf_ktime_get_ns();
	a->sk = (__u64)sk;
	a->buf = ctx->args[1];
	a->count = ctx->args[2];
	a->fd = (__u32)ctx->args[0];
	a->syscall = syscall;
	a->shape = shape;
	a->direction = direction;
	if (shape == PT_SHAPE_FILE)
		pt_sendfile_begin(sk, pid_tgid);
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
	/* No entry (counted): its facts could not be kept. TLS: ciphertext, whose
	 * plaintext comes from the TLS library (tls.bpf.c). */
	if (!c || c->tls || !pt_data_header(&s->ev, sk, c))
		return NULL;
	s->ev.enter_ts = a->enter_ts ? a->enter_ts : s->ev.timestamp;
	s->ev.len = len;
	s->ev.captured = 0;
	s->ev.fd = a->fd;
	s->ev.direction = a->direction;
	s->ev.syscall = a->syscall;
	s->ev.flags = a->enter_ts ? 0 : PT_DATA_ENTRY_UNSEEN;
	s->ev.role = c->role;
	return s;
}

static __always_inline void pt_data_submit(struct pt_data_scratch *s, __u32 captured)
{
	if (captured > PT_MAX_PAYLOAD)
		captured = PT_MAX_PAYLOAD;
	s->ev.captured = captured;
	pt_submit(&s->ev, sizeof(s->ev) + captured);
}

/*
 * One message of a recvmmsg/sendmmsg: its event, its iovecs gathered. A
 * global function, so the verifier checks it once, on its own, not again in
 * every state of the loop over messages (inlined there, with its own
 * bpf_loop over iovecs inside, it cost 140k instructions; the messages
 * unrolled, over 1M).
 */
__noinline int pt_emit_message(const struct pt_io_args *a, __u64 msg_len, __u64 iov, __u64 iovlen)
{
	if (!a)
		return 1;
	struct pt_data_scratch *s = pt_data_begin(a, msg_len);
	if (!s)
		return 1;
	pt_data_submit(s, pt_copy_iov(s, iov, iovlen, msg_len));
	return 0;
}

struct pt_mmsg_walk {
	const struct pt_io_args *a;
	const struct mmsghdr *m;
	__u64 nmsgs;
};

/* Tests only: makes the recvmmsg/sendmmsg programs invalid (the verifier sees
 * the call below only when this is set), to prove that a refused feature
 * leaves the others working. */
const volatile bool test_reject_mmsg = false;

static long pt_mmsg_step(__u32 i, void *arg)
{
	struct pt_mmsg_walk *w = arg;
	struct mmsghdr h;

	if (i >= w->nmsgs || bpf_probe_read_user(&h, sizeof(h), &w->m[i]))
		return 1;
	if (h.msg_len == 0)
		return 0;
	int stop = pt_emit_message(w->a, h.msg_len, (__u64)h.msg_hdr.msg_iov, h.msg_hdr.msg_iovlen);
	/* A callback returns 0 or 1, and the verifier must see it, but it does not
	 * know a global function's result: keep clang from dropping the test. */
	asm volatile("" : "+r"(stop));
	return stop ? 1 : 0;
}

/* recvmmsg/sendmmsg: one event per message that moved bytes. */
static __always_inline void pt_emit_mmsg(const struct pt_io_args *a, __u64 nmsgs)
{
	struct pt_mmsg_walk w = { .a = a, .m = (const struct mmsghdr *)a->buf, .nmsgs = nmsgs };

	if (test_reject_mmsg)
		bpf_probe_read_kernel((void *)0, 8, (void *)0);
	bpf_loop(PT_MAX_MMSG, pt_mmsg_step, &w, 0);
}

/*
 * A call already blocked when the probe attached (a server waiting on an
 * idle keep-alive connection) has no sys_enter record. On a thread's first
 * traced exit, recover the arguments from the registers the syscall saved;
 * the entry time is then unknown and the event says so.
 */
static __always_inline bool pt_io_args_at_exit(struct pt_io_args *a, struct task_struct *task, __u16 syscall,
					       __u16 direction, __u16 shape)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	__s64 fd = PT_REGS_PARM1_CORE_SYSCALL(regs);
	struct sock *sk;

	if (!pt_pid_traced(bpf_get_current_pid_tgid() >> 32) || !(sk = pt_tcp_sock_of_fd(fd)))
		return false;
	a->enter_ts = 0;
	a->sk = (__u64)sk;
	a->buf = PT_REGS_PARM2_CORE_SYSCALL(regs);
	a->count = PT_REGS_PARM3_CORE_SYSCALL(regs);
	a->fd = fd;
	a->syscall = syscall;
	a->shape = shape;
	a->direction = direction;
	return true;
}

static __always_inline int pt_io_exit(struct trace_event_raw_sys_exit *ctx, __u16 syscall, __u16 direction,
				      __u16 shape)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_io_args *ap = bpf_task_storage_get(&pt_io_args, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	struct pt_io_args a = {};

	if (!ap)
		return 0;
	if (ap->active) {
		a = *ap;
		ap->active = 0;
	} else {
		if (ap->seen)
			return 0; /* not a TCP socket, or not traced */
		ap->seen = 1;
		if (shape == PT_SHAPE_FILE || !pt_io_args_at_exit(&a, task, syscall, direction, shape))
			return 0;
	}
	/* Only a copying sendfile left its flow behind (pt_sendfile_begin): the
	 * socket's addresses are ten kernel reads, and a hash delete, per call. */
	if (shape == PT_SHAPE_FILE && sendfile_bytes) {
		struct pt_flow_key key = {};
		pt_flow_key_of((struct sock *)a.sk, &key);
		bpf_map_delete_elem(&pt_sendfile_active, &key);
	}

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
		return pt_io_exit(ctx, sys, dir, shape);                                                    \
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

/*
 * Segments leaving a socket with a sendfile() in progress: copy the bytes
 * that fall within the payload cap of that call. Runs at cgroup egress (root
 * cgroup v2, so every socket of the host), before segmentation: a TSO skb is
 * one call here. Always lets the packet pass.
 */
SEC("cgroup_skb/egress")
int capture_sendfile_bytes(struct __sk_buff *skb)
{
	struct pt_flow_key key = {};
	__u32 ip_len;

	/* Addresses and ports from the headers (egress: source is the local end). */
	if (skb->protocol == bpf_htons(0x0800)) {       /* ETH_P_IP */
		__u8 vihl;
		if (bpf_skb_load_bytes(skb, 0, &vihl, 1) || (vihl >> 4) != 4)
			return 1;
		ip_len = (vihl & 0xf) * 4;
		if (bpf_skb_load_bytes(skb, 12, key.local, 4) || bpf_skb_load_bytes(skb, 16, key.remote, 4))
			return 1;
	} else if (skb->protocol == bpf_htons(0x86DD)) { /* ETH_P_IPV6 */
		ip_len = 40;
		if (bpf_skb_load_bytes(skb, 8, key.local, 16) || bpf_skb_load_bytes(skb, 24, key.remote, 16))
			return 1;
	} else {
		return 1;
	}
	__be16 ports[2];
	if (bpf_skb_load_bytes(skb, ip_len, ports, sizeof(ports)))
		return 1;
	key.local_port = bpf_ntohs(ports[0]);
	key.remote_port = bpf_ntohs(ports[1]);

	struct pt_sendfile *sf = bpf_map_lookup_elem(&pt_sendfile_active, &key);
	if (!sf)
		return 1;

	/* TCP header: seq at byte 4, data offset in the high nibble of byte 12. */
	struct { __be32 seq; __be32 ack; __u8 doff_res; } th;
	if (bpf_skb_load_bytes(skb, ip_len + 4, &th, 9))
		return 1;
	__u32 header_len = ip_len + (th.doff_res >> 4) * 4;
	if (skb->len <= header_len)
		return 1; /* no payload: an ACK or a FIN */
	__u32 offset = bpf_ntohl(th.seq) - sf->start_seq;
	__u32 cap = payload_cap > PT_MAX_PAYLOAD ? PT_MAX_PAYLOAD : payload_cap;
	if (offset >= cap)
		return 1; /* beyond the cap, or before this call (wrapped) */

	__u32 cpu = bpf_get_smp_processor_id();
	struct pt_data_scratch *s = bpf_map_lookup_elem(&pt_data_scratch, &cpu);
	if (!s)
		return 1;
	struct pt_sendfile_bytes_event *ev = (void *)&s->ev;
	__u32 n = skb->len - header_len;
	if (n > cap - offset)
		n = cap - offset;
	if (pt_skb_load_bytes(skb, header_len, ev->payload, &n, PT_MAX_PAYLOAD))
		return 1;

	__builtin_memset(&ev->hdr, 0, sizeof(ev->hdr));
	ev->hdr.kind = PT_EVENT_SENDFILE_BYTES;
	ev->hdr.pid = sf->pid;
	ev->hdr.tid = sf->tid;
	ev->hdr.conn_id = sf->conn_id;
	ev->hdr.timestamp = bpf_ktime_get_ns();
	ev->offset = offset;
	ev->captured = n;
	pt_submit(ev, sizeof(*ev) + n);
	return 1;
}
