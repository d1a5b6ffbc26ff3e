// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Packets: the TCP packets of traced connections, from the IP header, for
 * `pipetrace capture`. cgroup_skb programs on the cgroup v2 root see every
 * socket's packets in both directions, already tied to their socket: the
 * connection table names the process, the socket its namespace. Loaded only
 * when a capture is asked for, so the other verbs pay nothing for it.
 *
 * A packet between two sockets of this host (two namespaces, or loopback)
 * crosses both hooks: it leaves its sender and enters its receiver. It is
 * captured once, leaving; the egress hook notes its fingerprint, and the
 * ingress hook, finding it, sends only the headers marked
 * PT_PACKET_DELIVERY so user space can name the receiver on the sender's
 * copy. A packet whose sender is not traced or not local has no
 * fingerprint and is captured entering; one whose receiver is not local is
 * simply never seen entering. The fingerprint leaves out addresses and
 * ports (NAT between the namespaces may change them, and namespaces may
 * reuse each other's addresses) and keeps what only this packet has: its
 * sequence and acknowledgment numbers (random per connection), IPv4 id,
 * flags, window and length.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

/* Bytes kept per packet (at most PT_MAX_SNAPLEN). */
const volatile __u32 snaplen = PT_DEFAULT_SNAPLEN;

/* Room to build one packet event; the verifier sees every copy stays inside. */
struct pt_packet_scratch {
	struct pt_packet_event ev;
	__u8 room[PT_MAX_SNAPLEN];
};

/* A slot per CPU (not a PERCPU_ARRAY: per-CPU values are limited to 32 KiB).
 * User space sets max_entries to the number of possible CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pt_packet_scratch);
} pt_packet_scratch SEC(".maps");

/* What identifies a packet on both sides of a veth, bridge or loopback. */
struct pt_packet_key {
	__u32 seq;
	__u32 ack;
	__u32 len;
	__u16 ip_id;
	__u16 window;
	__u8 tcp_flags;
	__u8 _pad[3];
};

/* Fingerprints of packets captured leaving, not yet seen entering: how many
 * such copies. LRU: the copies of packets that leave the host are never
 * claimed and age out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct pt_packet_key);
	__type(value, __u32);
} pt_packets_leaving SEC(".maps");

struct pt_tcp_head {
	__be16 sport;
	__be16 dport;
	__be32 seq;
	__be32 ack;
	__u8 doff;  /* data offset in the high nibble */
	__u8 flags;
	__be16 window;
};

struct pt_ipv4_head {
	__u8 vihl;
	__u8 tos;
	__be16 total;
	__be16 id;
	__be16 frag;
	__u8 ttl;
	__u8 protocol;
	__be16 check;
	__u8 saddr[4];
	__u8 daddr[4];
};

struct pt_ipv6_head {
	__be32 vtcfl;
	__be16 payload;
	__u8 nexthdr;
	__u8 hop_limit;
	__u8 saddr[16];
	__u8 daddr[16];
};

/* The namespace of whatever socket the packet belongs to: a full socket, a
 * request socket (the handshake of a listener) or a time-wait socket. */
static __always_inline __u32 pt_skb_netns(struct bpf_sock *bsk, struct tcp_sock **full)
{
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(bsk);

	*full = tp;
	if (tp)
		return pt_netns_of((const struct sock *)tp);
	struct tcp_request_sock *req = bpf_skc_to_tcp_request_sock(bsk);
	if (req)
		return BPF_CORE_READ(req, req.req.__req_common.skc_net.net, ns.inum);
	struct tcp_timewait_sock *tw = bpf_skc_to_tcp_timewait_sock(bsk);
	if (tw)
		return BPF_CORE_READ(tw, tw_sk.__tw_common.skc_net.net, ns.inum);
	return 0;
}

static __always_inline int pt_capture(struct __sk_buff *skb, __u16 direction)
{
	bool egress = direction == PT_DIR_EGRESS;
	__u32 ip_len;
	__u32 cpu = bpf_get_smp_processor_id();
	struct pt_packet_scratch *s = bpf_map_lookup_elem(&pt_packet_scratch, &cpu);

	if (!s)
		return 1;
	struct pt_packet_event *ev = &s->ev;
	struct pt_tuple *t = &ev->hdr.tuple;
	struct pt_packet_key key = {};

	__builtin_memset(&ev->hdr, 0, sizeof(ev->hdr));
	/* Offset 0 is the IP header in both directions (the hook pushes to it). */
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct pt_ipv4_head ip;
		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) || (ip.vihl >> 4) != 4 || ip.protocol != IPPROTO_TCP)
			return 1;
		ip_len = (ip.vihl & 0xf) * 4;
		key.ip_id = ip.id;
		t->family = AF_INET;
		__builtin_memcpy(t->saddr, egress ? ip.saddr : ip.daddr, 4);
		__builtin_memcpy(t->daddr, egress ? ip.daddr : ip.saddr, 4);
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct pt_ipv6_head ip;
		/* Extension headers before TCP are rare on a connection: not followed. */
		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) || ip.nexthdr != IPPROTO_TCP)
			return 1;
		ip_len = sizeof(ip);
		t->family = AF_INET6;
		__builtin_memcpy(t->saddr, egress ? ip.saddr : ip.daddr, 16);
		__builtin_memcpy(t->daddr, egress ? ip.daddr : ip.saddr, 16);
	} else {
		return 1;
	}
	struct pt_tcp_head tcp;
	if (bpf_skb_load_bytes(skb, ip_len, &tcp, sizeof(tcp)))
		return 1;
	t->sport = bpf_ntohs(egress ? tcp.sport : tcp.dport);
	t->dport = bpf_ntohs(egress ? tcp.dport : tcp.sport);
	key.seq = tcp.seq;
	key.ack = tcp.ack;
	key.len = skb->len;
	key.window = tcp.window;
	key.tcp_flags = tcp.flags;

	struct bpf_sock *bsk = skb->sk;
	if (bsk) {
		struct tcp_sock *tp = NULL;
		ev->hdr.netns = pt_skb_netns(bsk, &tp);
		if (tp) {
			__u64 key = (__u64)tp;
			struct pt_conn *c = bpf_map_lookup_elem(&pt_conns, &key);
			/* Not an entry left by a closed socket that lived at this address before. */
			if (c && !c->closed && (!c->tuple_ready || (c->netns == ev->hdr.netns &&
			    c->tuple.sport == t->sport && c->tuple.dport == t->dport))) {
				ev->hdr.pid = c->pid;
				ev->hdr.tid = c->tid;
				ev->hdr.cgroup_id = c->cgroup_id;
				ev->hdr.conn_id = c->id;
				__builtin_memcpy(ev->hdr.comm, c->comm, sizeof(ev->hdr.comm));
			}
		}
	}
	if (!pt_owner_traced(&ev->hdr))
		return 1;

	__u32 n = skb->len;
	__u32 cap = snaplen;
	__u16 flags = 0;
	if (!egress) {
		__u32 *leaving = bpf_map_lookup_elem(&pt_packets_leaving, &key);
		if (leaving && *leaving > 0) {
			/* Captured leaving: only the headers, to name the receiver. */
			if (__sync_fetch_and_sub(leaving, 1) == 1)
				bpf_map_delete_elem(&pt_packets_leaving, &key);
			flags = PT_PACKET_DELIVERY;
			cap = ip_len + (tcp.doff >> 4) * 4;
		}
	}
	if (n > cap)
		n = cap;
	if (n > PT_MAX_SNAPLEN)
		n = PT_MAX_SNAPLEN;
	if (pt_skb_load_bytes(skb, 0, ev->data, &n, PT_MAX_SNAPLEN))
		return 1;
	ev->hdr.kind = PT_EVENT_PACKET;
	ev->hdr.timestamp = bpf_ktime_get_ns();
	ev->len = skb->len;
	ev->captured = n;
	ev->ifindex = skb->ifindex;
	ev->direction = direction;
	ev->flags = flags;
	if (pt_submit(ev, sizeof(*ev) + n) == 0 && egress) {
		__u32 one = 1;
		__u32 *leaving = bpf_map_lookup_elem(&pt_packets_leaving, &key);
		if (leaving)
			__sync_fetch_and_add(leaving, 1);
		else
			bpf_map_update_elem(&pt_packets_leaving, &key, &one, BPF_NOEXIST);
	}
	return 1;
}

/* Both programs always let the packet pass: they only look. */
SEC("cgroup_skb/ingress")
int capture_packet_ingress(struct __sk_buff *skb)
{
	return pt_capture(skb, PT_DIR_INGRESS);
}

SEC("cgroup_skb/egress")
int capture_packet_egress(struct __sk_buff *skb)
{
	return pt_capture(skb, PT_DIR_EGRESS);
}
