// A packet classifier for XDP: it reads the Ethernet header and, for IPv4 and IPv6, the
// transport protocol, counts each class in a map, passes well-formed frames and drops
// malformed ones. `make run` compiles it with clang-14 and tsbpf loads and runs it.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "MIT";

/* The classes the map counts; tsbpf reads their names from this enum's BTF. */
enum pkt_class {
	CLASS_IPV4_TCP,
	CLASS_IPV4_UDP,
	CLASS_IPV4_ICMP,
	CLASS_IPV4_OTHER,
	CLASS_IPV6,
	CLASS_ARP,
	CLASS_OTHER,
	CLASS_MALFORMED,
	CLASS__COUNT,
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CLASS__COUNT);
	__type(key, enum pkt_class); /* keeps the enum, and its names, in the BTF */
	__type(value, __u64);
} class_counts SEC(".maps");

/* Bytes seen per class, a plain array: global data tsbpf reads as a variable. */
__u64 bytes_seen[CLASS__COUNT];

static __always_inline enum pkt_class classify(void *data, void *end)
{
	struct ethhdr *eth = data;
	struct iphdr *ip;

	if ((void *)(eth + 1) > end)
		return CLASS_MALFORMED;
	switch (bpf_ntohs(eth->h_proto)) {
	case ETH_P_IP:
		ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > end || ip->ihl < 5 || (void *)ip + ip->ihl * 4 > end)
			return CLASS_MALFORMED;
		switch (ip->protocol) {
		case IPPROTO_TCP:
			return CLASS_IPV4_TCP;
		case IPPROTO_UDP:
			return CLASS_IPV4_UDP;
		case IPPROTO_ICMP:
			return CLASS_IPV4_ICMP;
		default:
			return CLASS_IPV4_OTHER;
		}
	case ETH_P_IPV6:
		if ((void *)(eth + 1) + sizeof(struct ipv6hdr) > end)
			return CLASS_MALFORMED;
		return CLASS_IPV6;
	case ETH_P_ARP:
		return CLASS_ARP;
	default:
		return CLASS_OTHER;
	}
}

SEC("xdp")
int classify_packet(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 class = classify(data, end);
	__u64 *count = bpf_map_lookup_elem(&class_counts, &class);

	if (count)
		*count += 1; /* per-CPU: no atomic needed */
	if (class < CLASS__COUNT)
		__sync_fetch_and_add(&bytes_seen[class], end - data);
	return class == CLASS_MALFORMED ? XDP_DROP : XDP_PASS;
}
