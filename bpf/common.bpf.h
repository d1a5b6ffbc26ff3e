/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What every pipetrace BPF object shares: the settings (const volatile, set
 * by user space before load), the maps (created by the first object loaded
 * and reused by the others, so there is one ring buffer and one connection
 * table), and the helpers that turn a file descriptor or a socket into the
 * fields of struct pt_header.
 */
#ifndef PIPETRACE_COMMON_BPF_H
#define PIPETRACE_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "pipetrace.h"

#define AF_INET 2
#define AF_INET6 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define SOCK_STREAM 1
#define IPPROTO_TCP 6
#define EINPROGRESS 115

/* Settings. */
const volatile __u32 self_tgid = 0;        /* the tracer never traces itself */
const volatile __u32 payload_cap = PT_DEFAULT_PAYLOAD;
const volatile bool filter_by_pid = false;
const volatile bool filter_by_netns = false;
const volatile bool filter_by_cgroup = false;
const volatile bool filter_by_port = false;
/* Wake the reader only once this much is waiting: a wakeup per event costs
 * more than the event. The reader also polls on a short timer, so this only
 * matters when events come faster than the timer drains them; user space sets
 * it to a quarter of the ring buffer. */
const volatile __u64 wakeup_bytes = 256 << 10;

/* What user space knows of a socket, keyed by its struct sock address. */
struct pt_conn {
	__u64 id;
	__u64 cgroup_id;
	__u32 pid;
	__u32 tid;
	__u16 role;
	__u16 tuple_ready; /* tuple and netns below are set: a connected socket's never change */
	__u32 netns;
	/* TCP reached CLOSE. Kept, not deleted: a reset is sent after the state
	 * change (abort on close) and must still name its owner and ports. A
	 * new socket at the same address starts the entry over. */
	__u32 closed;
	/* Its plaintext comes from a TLS library's uprobes: its socket I/O is
	 * ciphertext and is not sent. */
	__u32 tls;
	__u8 comm[PT_COMM_LEN];
	struct pt_tuple tuple;
	/* The facts user space was sent last for it (PT_EVENT_CONN_FACTS), which
	 * its data events leave out: the process, its name and its cgroup; a
	 * facts_pid of 0 until they are sent. */
	__u32 facts_pid;
	__u32 _pad;
	__u64 facts_cgroup;
	__u8 facts_comm[PT_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20); /* user space may resize before load */
} pt_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct pt_conn);
} pt_conns SEC(".maps");

/*
 * The owner of each listening socket, by namespace and port. A connection it
 * accepts is established in softirq context before accept() puts it in
 * pt_conns: until then its events name the listener's owner (and so its
 * container), not nobody.
 */
struct pt_listener_key {
	__u32 netns;
	__u16 port;
	__u16 _pad;
};

struct pt_listener {
	__u64 sk;
	__u64 cgroup_id;
	__u32 pid;
	__u32 tid;
	__u8 comm[PT_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct pt_listener_key);
	__type(value, struct pt_listener);
} pt_listeners SEC(".maps");

/* Next connection id; one slot, shared by all objects. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} pt_conn_seq SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PT_STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} pt_stats SEC(".maps");

/* A TLS library call in progress, per thread (tls.bpf.c sets it; sockio's
 * syscall entry fills in the socket the library reads or writes). */
struct pt_tls_call {
	__u64 ssl;      /* the library's connection object (SSL *) */
	__u64 buf;
	__u64 len_out;  /* SSL_read_ex/SSL_write_ex: where the byte count goes */
	__u64 enter_ts;
	__u64 sk;       /* the socket a syscall inside the call used, or 0 */
	__u32 fd;       /* of that socket */
	__u16 direction;
	__u16 syscall;  /* PT_SYS_SSL_*, or 0 for a handshake */
	/* Go: the goroutine making the call (its g). Only a syscall of that
	 * goroutine names the socket: the goroutine may leave the thread (to
	 * wait for data) and the thread run others meanwhile. 0 for OpenSSL. */
	__u64 goroutine;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32); /* tid */
	__type(value, struct pt_tls_call);
} pt_tls_calls SEC(".maps");

/* How many entries pt_tls_calls holds (slot 0): every socket read and write
 * looks at pt_tls_calls only while it is not 0, so a host whose threads are
 * not inside a TLS library call pays an array load per syscall, not a hash
 * lookup. Counted where an entry is added or removed (pt_tls_call_begin/end),
 * never below the true number: a stale count only costs the lookup. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} pt_tls_calls_open SEC(".maps");

static __always_inline bool pt_tls_calls_any(void)
{
	__u32 zero = 0;
	__u64 *open = bpf_map_lookup_elem(&pt_tls_calls_open, &zero);

	return open && *open;
}

/* Records thread `tid`'s TLS call, counting it if the thread had none. */
static __always_inline void pt_tls_call_begin(__u32 tid, const struct pt_tls_call *call)
{
	__u32 zero = 0;
	__u64 *open = bpf_map_lookup_elem(&pt_tls_calls_open, &zero);

	if (!open)
		return;
	/* Counted before it is added: the count is never less than the entries. */
	__sync_fetch_and_add(open, 1);
	if (bpf_map_update_elem(&pt_tls_calls, &tid, call, BPF_NOEXIST)) {
		__sync_fetch_and_add(open, -1);
		bpf_map_update_elem(&pt_tls_calls, &tid, call, BPF_EXIST);
	}
}

/* Forgets thread `tid`'s TLS call. */
static __always_inline void pt_tls_call_end(__u32 tid)
{
	__u32 zero = 0;
	__u64 *open = bpf_map_lookup_elem(&pt_tls_calls_open, &zero);

	if (!bpf_map_delete_elem(&pt_tls_calls, &tid) && open)
		__sync_fetch_and_add(open, -1);
}

/* A TLS library's connection object -> its socket, learned from a syscall
 * inside a call of it; kept for calls served from the library's buffer. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u64);
} pt_tls_sockets SEC(".maps");

/* The goroutine running on the current thread, as the user registers saved at
 * the syscall's entry hold it: R14 in Go's register ABI (Go 1.17+, x86-64). */
static __always_inline __u64 pt_user_goroutine(void)
{
#if defined(__TARGET_ARCH_x86)
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

	return BPF_CORE_READ(regs, r14);
#else
	return 0;
#endif
}

/* Filters: a key present means "trace it"; used only when its filter_by_* is set. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} pt_filter_pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} pt_filter_netns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u8);
} pt_filter_cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u16);
	__type(value, __u8);
} pt_filter_ports SEC(".maps");

static __always_inline void pt_count(__u32 stat)
{
	__u64 *v = bpf_map_lookup_elem(&pt_stats, &stat);
	if (v)
		*v += 1;
}

/* Cheap checks done before any socket is looked at. */
static __always_inline bool pt_pid_traced(__u32 tgid)
{
	if (tgid == self_tgid)
		return false;
	if (filter_by_pid && !bpf_map_lookup_elem(&pt_filter_pids, &tgid))
		return false;
	return true;
}

/* Kernel 6.2+: makes a plain pointer readable by direct loads, far cheaper
 * than a bpf_probe_read_kernel() per field. Weak: absent on older kernels. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

/* The pointer stored at kernel address `slot`, by a direct load (6.2+: call
 * only where bpf_rdonly_cast is known): bpf_rdonly_cast casts only to a
 * struct, so the slot is read as a struct whose one member is a pointer.
 * A fault reads NULL, as bpf_probe_read_kernel's does, without its call. */
static __always_inline void *pt_load_kernel_pointer(const void *slot)
{
	struct llist_node *n = bpf_rdonly_cast(slot, bpf_core_type_id_kernel(struct llist_node));

	return n->next;
}

static __always_inline bool pt_is_tcp(__u16 family, __u16 type, __u16 protocol)
{
	return (family == AF_INET || family == AF_INET6) && type == SOCK_STREAM && protocol == IPPROTO_TCP;
}

/*
 * The TCP socket behind a descriptor of the current task, or NULL. Runs at
 * the entry of every read and write on the host, so it is the probe's
 * hottest path: direct loads where the kernel allows them.
 */
static __always_inline struct sock *pt_tcp_sock_of_fd(__s64 fd)
{
	struct file *file;

	if (fd < 0)
		return NULL;
	if (bpf_rdonly_cast) {
		struct task_struct *task = bpf_get_current_task_btf();
		struct fdtable *fdt = task->files->fdt;

		if (fd >= fdt->max_fds || !(file = pt_load_kernel_pointer(&fdt->fd[fd])))
			return NULL;
		file = bpf_rdonly_cast(file, bpf_core_type_id_kernel(struct file));
		if ((file->f_inode->i_mode & S_IFMT) != S_IFSOCK)
			return NULL;
		struct socket *sock = bpf_rdonly_cast(file->private_data, bpf_core_type_id_kernel(struct socket));
		struct sock *sk = sock->sk;
		if (!sk)
			return NULL;
		struct sock *s = bpf_rdonly_cast(sk, bpf_core_type_id_kernel(struct sock));
		return pt_is_tcp(s->__sk_common.skc_family, s->sk_type, s->sk_protocol) ? sk : NULL;
	}

	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;
	if ((BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	struct socket *sock = BPF_CORE_READ(file, private_data);
	struct sock *sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return NULL;
	return pt_is_tcp(BPF_CORE_READ(sk, __sk_common.skc_family), BPF_CORE_READ(sk, sk_type),
			 BPF_CORE_READ(sk, sk_protocol)) ? sk : NULL;
}

static __always_inline void pt_read_tuple(const struct sock *sk, struct pt_tuple *t)
{
	t->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	t->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	t->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (t->family == AF_INET) {
		/* The destination's type sets the read size: 4 bytes here, 16 below. */
		BPF_CORE_READ_INTO((__u32 *)t->saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)t->daddr, sk, __sk_common.skc_daddr);
	} else {
		BPF_CORE_READ_INTO(&t->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&t->daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	}
}

static __always_inline __u32 pt_netns_of(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

/* Filters that need the socket (namespace, ports) and the owner's cgroup. */
static __always_inline bool pt_sock_traced(__u32 netns, __u64 cgroup_id, const struct pt_tuple *t)
{
	if (filter_by_netns && !bpf_map_lookup_elem(&pt_filter_netns, &netns))
		return false;
	if (filter_by_cgroup && !bpf_map_lookup_elem(&pt_filter_cgroups, &cgroup_id))
		return false;
	if (filter_by_port && !bpf_map_lookup_elem(&pt_filter_ports, &t->sport) &&
	    !bpf_map_lookup_elem(&pt_filter_ports, &t->dport))
		return false;
	return true;
}

/*
 * The socket's entry in the connection table, created for the current task
 * if the socket is new to us. `role` overrides the stored one unless unknown.
 */
static __always_inline struct pt_conn *pt_conn_of(const struct sock *sk, __u16 role)
{
	__u64 key = (__u64)sk;
	struct pt_conn *c = bpf_map_lookup_elem(&pt_conns, &key);

	if (c && !c->closed) {
		if (role != PT_ROLE_UNKNOWN)
			c->role = role;
		return c;
	}

	__u32 zero = 0;
	__u64 *seq = bpf_map_lookup_elem(&pt_conn_seq, &zero);
	if (!seq)
		return NULL;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct pt_conn n = {
		.id = __sync_fetch_and_add(seq, 1) + 1,
		.cgroup_id = bpf_get_current_cgroup_id(),
		.pid = pid_tgid >> 32,
		.tid = (__u32)pid_tgid,
		.role = role,
	};
	bpf_get_current_comm(n.comm, sizeof(n.comm));
	if (bpf_map_update_elem(&pt_conns, &key, &n, BPF_ANY)) {
		pt_count(PT_STAT_CONN_TABLE_FULL);
		return NULL;
	}
	return bpf_map_lookup_elem(&pt_conns, &key);
}

/*
 * Header for an event raised by the current task on socket `sk`. The
 * addresses come from the connection table once the socket is connected
 * (both ports known), saving the reads on every later event.
 */
static __always_inline void pt_fill_task_header(struct pt_header *h, __u32 kind, const struct sock *sk,
						struct pt_conn *c)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	h->kind = kind;
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->timestamp = bpf_ktime_get_ns();
	h->cgroup_id = bpf_get_current_cgroup_id();
	h->conn_id = c ? c->id : 0;
	bpf_get_current_comm(h->comm, sizeof(h->comm));
	if (c && c->tuple_ready) {
		h->netns = c->netns;
		h->tuple = c->tuple;
		return;
	}
	h->netns = pt_netns_of(sk);
	pt_read_tuple(sk, &h->tuple);
	if (c && h->tuple.sport && h->tuple.dport) {
		c->netns = h->netns;
		c->tuple = h->tuple;
		c->tuple_ready = 1;
	}
}

/*
 * Header for an event raised in softirq or timer context, where the current
 * task is whoever was running: the owner comes from the connection table.
 */
static __always_inline void pt_fill_sock_header(struct pt_header *h, __u32 kind, const struct sock *sk)
{
	__u64 key = (__u64)sk;
	struct pt_conn *c = bpf_map_lookup_elem(&pt_conns, &key);

	h->kind = kind;
	h->timestamp = bpf_ktime_get_ns();
	if (c && c->tuple_ready) {
		/* The kernel clears the local port at CLOSE; the table remembers it. */
		h->netns = c->netns;
		h->tuple = c->tuple;
	} else {
		h->netns = pt_netns_of(sk);
		pt_read_tuple(sk, &h->tuple);
	}
	if (c) {
		h->pid = c->pid;
		h->tid = c->tid;
		h->cgroup_id = c->cgroup_id;
		h->conn_id = c->id;
		__builtin_memcpy(h->comm, c->comm, sizeof(h->comm));
		return;
	}
	struct pt_listener_key lk = { .netns = h->netns, .port = h->tuple.sport };
	struct pt_listener *l = bpf_map_lookup_elem(&pt_listeners, &lk);
	if (l) {
		h->pid = l->pid;
		h->tid = l->tid;
		h->cgroup_id = l->cgroup_id;
		__builtin_memcpy(h->comm, l->comm, sizeof(h->comm));
	}
}

/* Events raised in softirq context pass the filters through the owner we know. */
static __always_inline bool pt_owner_traced(const struct pt_header *h)
{
	if (h->pid == 0)
		return !filter_by_pid && !filter_by_cgroup && pt_sock_traced(h->netns, 0, &h->tuple);
	return pt_pid_traced(h->pid) && pt_sock_traced(h->netns, h->cgroup_id, &h->tuple);
}

/*
 * bpf_skb_load_bytes of `*n` bytes, 1 to `max`, into `dst`; on success `*n`
 * carries those bounds to the caller's later uses (the event's size). Each
 * bound is checked on its own, behind a compiler barrier, on the register
 * passed: clang would otherwise test a copy, or fold both tests into one on
 * `n - 1`, and older verifiers (Debian 12's 6.1) cannot carry the bound back
 * ("R3 min value is outside of the allowed memory range"). The lower bound
 * is a signed "< 1": 6.1 learns nothing from "!= 0".
 */
static __always_inline long pt_skb_load_bytes(const struct __sk_buff *skb, __u32 off, void *dst, __u32 *n,
					      __u32 max)
{
	barrier_var(*n);
	if ((__s32)*n < 1)
		return -1;
	barrier_var(*n);
	if (*n > max)
		return -1;
	return bpf_skb_load_bytes(skb, off, dst, *n);
}

/* Wake the reader only once `wakeup_bytes` wait (see the settings above). */

/* Returns 0 once the event is on the ring buffer (callers may ignore it). */
static __always_inline long pt_submit(void *event, __u64 size)
{
	__u64 flags = bpf_ringbuf_query(&pt_events, BPF_RB_AVAIL_DATA) >= wakeup_bytes ?
		BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	long err = bpf_ringbuf_output(&pt_events, event, size, flags);

	if (err)
		pt_count(PT_STAT_RINGBUF_FULL);
	return err;
}

/*
 * The fields of a data event the current task raises on connection `c` of
 * socket `sk`. When user space does not have the connection's facts as they
 * are now (its first data event, another process or thread name, another
 * cgroup), they are sent first; they are marked sent only once on the ring
 * buffer, so a data event never arrives without them. A process that changes
 * them (exec, prctl, a cgroup move) sends them again with its next event.
 * False if the event is not to be sent: filtered out, or its facts not sent.
 */
static __always_inline bool pt_data_header(struct pt_data_event *ev, const struct sock *sk, struct pt_conn *c)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 cgroup_id;
	union {
		__u8 bytes[PT_COMM_LEN];
		__u64 words[2];
	} comm;

	if (bpf_rdonly_cast) {
		/* Direct loads, as the helpers read them, without their calls. */
		struct task_struct *task = bpf_get_current_task_btf();
		comm.words[0] = *(__u64 *)&task->comm[0];
		comm.words[1] = *(__u64 *)&task->comm[8];
		cgroup_id = task->cgroups->dfl_cgrp->kn->id;
	} else {
		cgroup_id = bpf_get_current_cgroup_id();
		bpf_get_current_comm(comm.bytes, sizeof(comm.bytes));
	}
	ev->kind = PT_EVENT_DATA;
	ev->pid = pid_tgid >> 32;
	ev->tid = (__u32)pid_tgid;
	ev->timestamp = bpf_ktime_get_ns();
	ev->conn_id = c->id;
	if (c->tuple_ready && c->facts_pid == ev->pid && c->facts_cgroup == cgroup_id &&
	    *(__u64 *)&c->facts_comm[0] == comm.words[0] && *(__u64 *)&c->facts_comm[8] == comm.words[1])
		return pt_sock_traced(c->netns, cgroup_id, &c->tuple);

	struct pt_facts_event f = {};
	pt_fill_task_header(&f.hdr, PT_EVENT_CONN_FACTS, sk, c);
	f.hdr.timestamp = ev->timestamp;
	if (!pt_sock_traced(f.hdr.netns, f.hdr.cgroup_id, &f.hdr.tuple) || pt_submit(&f, sizeof(f)))
		return false;
	if (c->tuple_ready) {
		c->facts_pid = f.hdr.pid;
		c->facts_cgroup = f.hdr.cgroup_id;
		__builtin_memcpy(c->facts_comm, f.hdr.comm, sizeof(c->facts_comm));
	}
	return true;
}

#endif /* PIPETRACE_COMMON_BPF_H */
