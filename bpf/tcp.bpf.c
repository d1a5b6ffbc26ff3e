// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * TCP trouble: retransmitted segments and resets, the packet loss and
 * aborted connections that make pipeline requests slow or fail. tp_btf with
 * typed arguments: the raw tracepoint structs were renamed across kernels.
 */
#include "common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline int pt_emit_retransmit(void *ctx, const struct sock *sk,
					      const struct sk_buff *skb, __s32 err)
{
	struct pt_tcp_event ev = {};
	/* The address of skb->cb (not its first bytes, which BPF_CORE_READ would read). */
	const struct tcp_skb_cb *cb = (const struct tcp_skb_cb *)skb->cb;

	if (!sk)
		return 0;
	pt_fill_sock_header(&ev.hdr, PT_EVENT_RETRANSMIT, sk);
	ev.segs = BPF_CORE_READ(cb, tcp_gso_segs);
	if (ev.segs == 0)
		ev.segs = 1;
	ev.seq = BPF_CORE_READ(cb, seq);
	ev.state = BPF_CORE_READ(sk, __sk_common.skc_state);
	ev.err = err;
	if (pt_owner_traced(&ev.hdr))
		pt_submit(&ev, sizeof(ev));
	return 0;
}

/*
 * After 6.12 the hook gained a third argument, err, and also fires for
 * attempts that never left the host (6.18 has it; Debian's 6.12.118 not).
 * User space loads the variant that matches the running kernel's BTF
 * (btf_trace_tcp_retransmit_skb); the other one is not loaded, because
 * reading an argument the kernel does not pass is refused.
 */
SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(handle_retransmit, const struct sock *sk, const struct sk_buff *skb, int err)
{
	return pt_emit_retransmit(ctx, sk, skb, err);
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(handle_retransmit_noerr, const struct sock *sk, const struct sk_buff *skb)
{
	return pt_emit_retransmit(ctx, sk, skb, 0);
}

/*
 * A SYN-ACK sent again: counted in TcpRetransSegs like any retransmit, but
 * traced apart. The request sock starts with the same sock_common as a
 * socket, so the tuple and namespace read the same way; the owner is the
 * listener's.
 */
SEC("tp_btf/tcp_retransmit_synack")
int BPF_PROG(handle_retransmit_synack, const struct sock *listener, const struct request_sock *req)
{
	struct pt_tcp_event ev = {};
	const struct sock *rsk = (const struct sock *)req;

	pt_fill_sock_header(&ev.hdr, PT_EVENT_RETRANSMIT, listener);
	ev.hdr.netns = pt_netns_of(rsk);
	pt_read_tuple(rsk, &ev.hdr.tuple);
	ev.segs = 1;
	ev.state = BPF_CORE_READ(rsk, __sk_common.skc_state);
	if (pt_owner_traced(&ev.hdr))
		pt_submit(&ev, sizeof(ev));
	return 0;
}

static __always_inline int pt_emit_reset(const struct sock *sk, __u16 kind)
{
	struct pt_tcp_event ev = {};

	/* tcp_send_reset without a socket answers a segment nobody listens for:
	 * nothing of a traced connection, so not reported. */
	if (!sk)
		return 0;
	pt_fill_sock_header(&ev.hdr, PT_EVENT_RESET, sk);
	ev.state = BPF_CORE_READ(sk, __sk_common.skc_state);
	ev.reset = kind;
	if (pt_owner_traced(&ev.hdr))
		pt_submit(&ev, sizeof(ev));
	return 0;
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(handle_send_reset, const struct sock *sk)
{
	return pt_emit_reset(sk, PT_RESET_SENT);
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(handle_receive_reset, const struct sock *sk)
{
	return pt_emit_reset(sk, PT_RESET_RECEIVED);
}
