/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The events pipetrace's BPF programs put on the ring buffer, and the
 * settings user space gives them. Included by every *.bpf.c and imported by
 * Swift (module CPipetraceEvents), so the layout is written once. Only
 * fixed-width types, explicit padding: the layout must not depend on the
 * compiler that reads it.
 */
#ifndef PIPETRACE_H
#define PIPETRACE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define PT_COMM_LEN 16
/* Upper bound of the payload cap; the cap itself is a load-time setting. */
#define PT_MAX_PAYLOAD 16384
#define PT_DEFAULT_PAYLOAD 4096
/* Scatter/gather calls: iovec entries (and mmsghdr entries) followed per call. */
#define PT_MAX_IOV 32
#define PT_MAX_MMSG 8
/* Packet capture: bytes kept per packet from its IP header. The snap length
 * is a load-time setting; the upper bound is one IP packet. */
#define PT_MAX_SNAPLEN 65535
#define PT_DEFAULT_SNAPLEN 1514

enum pt_event_kind {
	PT_EVENT_DATA = 1,       /* bytes a process sent or received on a TCP socket */
	PT_EVENT_CONN_OPEN = 2,  /* connect() or accept() completed a socket */
	PT_EVENT_CONN_CLOSE = 3, /* close() of a TCP socket's descriptor */
	PT_EVENT_STATE = 4,      /* TCP state change (sock/inet_sock_set_state) */
	PT_EVENT_RETRANSMIT = 5, /* tcp/tcp_retransmit_skb */
	PT_EVENT_RESET = 6,      /* tcp/tcp_send_reset, tcp/tcp_receive_reset */
	/* Bytes a sendfile() put on the wire, seen at cgroup egress; user space
	 * joins them to the sendfile's PT_EVENT_DATA and never shows them alone. */
	PT_EVENT_SENDFILE_BYTES = 7,
	PT_EVENT_PACKET = 8,     /* a TCP packet of a traced connection (packets.bpf.c, capture only) */
	/* Who uses a connection and where it leads (struct pt_facts_event): sent
	 * before a data event of the connection whenever they are not the ones
	 * sent last for it; never shown alone. */
	PT_EVENT_CONN_FACTS = 9,
};

enum pt_direction {
	PT_DIR_EGRESS = 1,  /* the process wrote these bytes */
	PT_DIR_INGRESS = 2, /* the process read these bytes */
};

enum pt_role {
	PT_ROLE_UNKNOWN = 0, /* socket first seen after it was opened */
	PT_ROLE_CLIENT = 1,  /* connect() */
	PT_ROLE_SERVER = 2,  /* accept() */
};

/* The syscall that produced a data event. */
enum pt_syscall {
	PT_SYS_READ = 1, PT_SYS_READV, PT_SYS_RECVFROM, PT_SYS_RECVMSG, PT_SYS_RECVMMSG,
	PT_SYS_WRITE, PT_SYS_WRITEV, PT_SYS_SENDTO, PT_SYS_SENDMSG, PT_SYS_SENDMMSG,
	PT_SYS_SENDFILE,
	PT_SYS_SSL_READ,  /* TLS plaintext a process read (SSL_read, SSL_read_ex) */
	PT_SYS_SSL_WRITE, /* TLS plaintext a process wrote (SSL_write, SSL_write_ex) */
};

enum pt_data_flags {
	/* The payload is not in the event: sendfile's bytes come from a file, and
	 * arrive separately as PT_EVENT_SENDFILE_BYTES. */
	PT_DATA_NO_PAYLOAD = 1 << 0,
	/* bpf_probe_read_user failed for part of the buffer. */
	PT_DATA_READ_FAULT = 1 << 1,
	/* The call began before the probe attached: enter_ts is the exit time. */
	PT_DATA_ENTRY_UNSEEN = 1 << 2,
	/* The plaintext of a TLS connection, from the TLS library (tls.bpf.c);
	 * the connection's own socket I/O, ciphertext, is not sent once known. */
	PT_DATA_TLS = 1 << 3,
};

enum pt_reset_kind {
	PT_RESET_SENT = 1,
	PT_RESET_RECEIVED = 2,
};

/* Counters of the kernel side's own failures, read by user space (map "pt_stats"). */
enum pt_stat {
	PT_STAT_RINGBUF_FULL = 0, /* an event was dropped: ring buffer had no room */
	PT_STAT_CONN_TABLE_FULL = 2, /* (1, a sys_exit without its sys_enter, is no longer counted) */
	/* TLS plaintext whose socket is not known yet (no syscall inside a TLS call of it seen). */
	PT_STAT_TLS_NO_SOCKET = 3,
	PT_STAT_COUNT = 4,
};

/* Addresses in network byte order, ports in host byte order. IPv4 uses the first 4 bytes. */
struct pt_tuple {
	__u8 saddr[16]; /* local */
	__u8 daddr[16]; /* remote */
	__u16 sport;    /* local */
	__u16 dport;    /* remote */
	__u16 family;   /* AF_INET or AF_INET6 */
	__u16 _pad;
};

/* Every event but PT_EVENT_DATA starts with this header. */
struct pt_header {
	__u32 kind; /* enum pt_event_kind */
	__u32 pid;  /* tgid, as user space says "pid" */
	__u32 tid;
	__u32 netns;      /* network namespace inode */
	__u64 timestamp;  /* CLOCK_MONOTONIC ns (bpf_ktime_get_ns) */
	__u64 cgroup_id;  /* cgroup v2 id of the process */
	__u64 conn_id;    /* pipetrace's id of the socket, unique while the probe runs; 0 if none */
	__u8 comm[PT_COMM_LEN];
	struct pt_tuple tuple;
};

/*
 * Bytes a syscall (or a TLS library call) moved. Names its connection by id
 * only: the process name, cgroup, namespace and addresses come in the
 * connection's PT_EVENT_CONN_FACTS, sent before the first data event of the
 * connection and again before one whose process, name or cgroup differs
 * from the facts sent last. User space joins them, so a data event costs 64
 * bytes, not 128, plus its payload.
 */
struct pt_data_event {
	__u32 kind;       /* PT_EVENT_DATA */
	__u32 pid;        /* tgid */
	__u32 tid;
	__u32 fd;
	__u64 timestamp;  /* syscall exit, CLOCK_MONOTONIC ns */
	__u64 conn_id;    /* never 0 */
	__u64 enter_ts;   /* syscall entry, CLOCK_MONOTONIC ns */
	__u64 len;        /* bytes the syscall moved (its return value), the true length */
	__u32 captured;   /* payload bytes that follow, <= len and <= the cap */
	__u16 direction;  /* enum pt_direction */
	__u16 syscall;    /* enum pt_syscall */
	__u16 flags;      /* enum pt_data_flags */
	__u16 role;       /* enum pt_role, as known for this socket */
	__u32 _pad;
	__u8 payload[];   /* `captured` bytes */
};

/* The facts of connection hdr.conn_id that its data events leave out: the
 * header of the task that raised the data event following it. */
struct pt_facts_event {
	struct pt_header hdr;
};

struct pt_conn_event {
	struct pt_header hdr;
	__u32 fd;
	__u16 role;  /* enum pt_role */
	__u16 _pad;
	__s32 ret;   /* connect(): 0 or -EINPROGRESS */
	__u32 _pad2;
};

struct pt_state_event {
	struct pt_header hdr;
	__u16 old_state; /* TCP_* as in include/net/tcp_states.h */
	__u16 new_state;
	__u32 _pad;
};

struct pt_tcp_event {
	struct pt_header hdr;
	__u32 segs;      /* retransmit: segments in the skb (what TcpRetransSegs counts) */
	__s32 err;       /* retransmit: 0 if the segment left, else -errno */
	__u16 state;     /* TCP state of the socket */
	__u16 reset;     /* enum pt_reset_kind, for PT_EVENT_RESET */
	__u32 seq;       /* retransmit: first sequence number of the segment */
};

struct pt_sendfile_bytes_event {
	struct pt_header hdr; /* conn_id and tuple of the socket; pid of the sendfile caller */
	__u32 offset;         /* of payload[0] from the first byte the sendfile queued */
	__u32 captured;       /* payload bytes that follow */
	__u8 payload[];
};

/*
 * A TCP packet seen at cgroup ingress or egress, from its IP header. hdr.tuple
 * comes from the packet (local end first, as for every event); hdr.netns is
 * the socket's namespace; pid, tid, comm, cgroup_id and conn_id come from the
 * connection table, zero when the socket is not in it (a handshake answered
 * by the kernel, a socket opened before the probe and not yet used).
 */
struct pt_packet_event {
	struct pt_header hdr;
	__u32 len;       /* the packet's length from its IP header (a GSO packet is not yet cut) */
	__u32 captured;  /* bytes that follow: min(len, snap length) */
	__u32 ifindex;   /* the device it arrived on or leaves by; 0 if none */
	__u16 direction; /* enum pt_direction: egress = sent by a socket of this host */
	__u16 flags;     /* enum pt_packet_flags */
	__u8 data[];     /* `captured` bytes from the IP header */
};

enum pt_packet_flags {
	/* The receiving end of a packet already captured leaving its sender
	 * (both ends on this host): only its IP and TCP headers follow, to name
	 * the receiver; user space joins it to the sender's copy. */
	PT_PACKET_DELIVERY = 1,
};

#endif /* PIPETRACE_H */
