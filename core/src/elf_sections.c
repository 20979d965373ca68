/*
 * Section names to program types: libbpf's table of SEC() conventions, in libbpf's
 * order, with its matching rules; and cilium/ebpf's looser rule as a fallback, under
 * which a plain pattern also matches as a prefix ("socket/2", "sk_lookup/").
 */
#include "elf_internal.h"

/* Values newer than the 6.1 uapi header this core compiles against. */
#define PROG_TYPE_NETFILTER 32       /* 6.4 */
#define ATTACH_NETFILTER 45          /* 6.4 */
#define ATTACH_TCX_INGRESS 46        /* 6.6 */
#define ATTACH_TCX_EGRESS 47         /* 6.6 */
#define ATTACH_TRACE_UPROBE_MULTI 48 /* 6.6 */
#define ATTACH_CGROUP_UNIX_CONNECT 49
#define ATTACH_CGROUP_UNIX_SENDMSG 50
#define ATTACH_CGROUP_UNIX_RECVMSG 51
#define ATTACH_CGROUP_UNIX_GETPEERNAME 52
#define ATTACH_CGROUP_UNIX_GETSOCKNAME 53 /* 6.7 */
#define ATTACH_NETKIT_PRIMARY 54
#define ATTACH_NETKIT_PEER 55            /* 6.7 */
#define ATTACH_TRACE_KPROBE_SESSION 56   /* 6.10 */
#define ATTACH_TRACE_UPROBE_SESSION 57   /* 6.13 */

#define NONE 0
#define ATT TSBPF_SEC_ATTACHABLE
#define ATT_OPT (TSBPF_SEC_ATTACHABLE | TSBPF_SEC_ATTACH_OPT)
#define BTF TSBPF_SEC_ATTACH_BTF
#define SLEEP TSBPF_SEC_SLEEPABLE
#define FRAGS TSBPF_SEC_XDP_FRAGS
#define USDT TSBPF_SEC_USDT

struct sec_def {
	const char *pattern; /* "x" exact, "x+" x or x/..., as libbpf */
	uint8_t len;         /* strlen(pattern), filled in by the D() macro */
	uint8_t prog_type;
	uint8_t attach_type;
	uint8_t flags;
};

#define D(p, type, attach, flags) { p, sizeof(p) - 1, type, attach, flags }

static const struct sec_def defs[] = {
	D("socket", BPF_PROG_TYPE_SOCKET_FILTER, 0, NONE),
	D("sk_reuseport/migrate", BPF_PROG_TYPE_SK_REUSEPORT, BPF_SK_REUSEPORT_SELECT_OR_MIGRATE, ATT),
	D("sk_reuseport", BPF_PROG_TYPE_SK_REUSEPORT, BPF_SK_REUSEPORT_SELECT, ATT),
	D("kprobe+", BPF_PROG_TYPE_KPROBE, 0, NONE),
	D("uprobe+", BPF_PROG_TYPE_KPROBE, 0, NONE),
	D("uprobe.s+", BPF_PROG_TYPE_KPROBE, 0, SLEEP),
	D("kretprobe+", BPF_PROG_TYPE_KPROBE, 0, NONE),
	D("uretprobe+", BPF_PROG_TYPE_KPROBE, 0, NONE),
	D("uretprobe.s+", BPF_PROG_TYPE_KPROBE, 0, SLEEP),
	D("kprobe.multi+", BPF_PROG_TYPE_KPROBE, BPF_TRACE_KPROBE_MULTI, NONE),
	D("kretprobe.multi+", BPF_PROG_TYPE_KPROBE, BPF_TRACE_KPROBE_MULTI, NONE),
	D("kprobe.session+", BPF_PROG_TYPE_KPROBE, ATTACH_TRACE_KPROBE_SESSION, NONE),
	D("uprobe.multi+", BPF_PROG_TYPE_KPROBE, ATTACH_TRACE_UPROBE_MULTI, NONE),
	D("uretprobe.multi+", BPF_PROG_TYPE_KPROBE, ATTACH_TRACE_UPROBE_MULTI, NONE),
	D("uprobe.session+", BPF_PROG_TYPE_KPROBE, ATTACH_TRACE_UPROBE_SESSION, NONE),
	D("uprobe.multi.s+", BPF_PROG_TYPE_KPROBE, ATTACH_TRACE_UPROBE_MULTI, SLEEP),
	D("uretprobe.multi.s+", BPF_PROG_TYPE_KPROBE, ATTACH_TRACE_UPROBE_MULTI, SLEEP),
	D("uprobe.session.s+", BPF_PROG_TYPE_KPROBE, ATTACH_TRACE_UPROBE_SESSION, SLEEP),
	D("ksyscall+", BPF_PROG_TYPE_KPROBE, 0, NONE),
	D("kretsyscall+", BPF_PROG_TYPE_KPROBE, 0, NONE),
	D("usdt+", BPF_PROG_TYPE_KPROBE, 0, USDT),
	D("usdt.s+", BPF_PROG_TYPE_KPROBE, 0, USDT | SLEEP),
	D("tc/ingress", BPF_PROG_TYPE_SCHED_CLS, ATTACH_TCX_INGRESS, NONE),
	D("tc/egress", BPF_PROG_TYPE_SCHED_CLS, ATTACH_TCX_EGRESS, NONE),
	D("tcx/ingress", BPF_PROG_TYPE_SCHED_CLS, ATTACH_TCX_INGRESS, NONE),
	D("tcx/egress", BPF_PROG_TYPE_SCHED_CLS, ATTACH_TCX_EGRESS, NONE),
	D("tc", BPF_PROG_TYPE_SCHED_CLS, 0, NONE),
	D("classifier", BPF_PROG_TYPE_SCHED_CLS, 0, NONE),
	D("action", BPF_PROG_TYPE_SCHED_ACT, 0, NONE),
	D("netkit/primary", BPF_PROG_TYPE_SCHED_CLS, ATTACH_NETKIT_PRIMARY, NONE),
	D("netkit/peer", BPF_PROG_TYPE_SCHED_CLS, ATTACH_NETKIT_PEER, NONE),
	D("tracepoint+", BPF_PROG_TYPE_TRACEPOINT, 0, NONE),
	D("tp+", BPF_PROG_TYPE_TRACEPOINT, 0, NONE),
	D("tracepoint.s+", BPF_PROG_TYPE_TRACEPOINT, 0, SLEEP),
	D("tp.s+", BPF_PROG_TYPE_TRACEPOINT, 0, SLEEP),
	D("raw_tracepoint+", BPF_PROG_TYPE_RAW_TRACEPOINT, 0, NONE),
	D("raw_tp+", BPF_PROG_TYPE_RAW_TRACEPOINT, 0, NONE),
	D("raw_tracepoint.s+", BPF_PROG_TYPE_RAW_TRACEPOINT, 0, SLEEP),
	D("raw_tp.s+", BPF_PROG_TYPE_RAW_TRACEPOINT, 0, SLEEP),
	D("raw_tracepoint.w+", BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE, 0, NONE),
	D("raw_tp.w+", BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE, 0, NONE),
	D("tp_btf+", BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP, BTF),
	D("tp_btf.s+", BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP, BTF | SLEEP),
	D("fentry+", BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, BTF),
	D("fmod_ret+", BPF_PROG_TYPE_TRACING, BPF_MODIFY_RETURN, BTF),
	D("fexit+", BPF_PROG_TYPE_TRACING, BPF_TRACE_FEXIT, BTF),
	D("fentry.s+", BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, BTF | SLEEP),
	D("fmod_ret.s+", BPF_PROG_TYPE_TRACING, BPF_MODIFY_RETURN, BTF | SLEEP),
	D("fexit.s+", BPF_PROG_TYPE_TRACING, BPF_TRACE_FEXIT, BTF | SLEEP),
	D("freplace+", BPF_PROG_TYPE_EXT, 0, BTF),
	D("lsm+", BPF_PROG_TYPE_LSM, BPF_LSM_MAC, BTF),
	D("lsm.s+", BPF_PROG_TYPE_LSM, BPF_LSM_MAC, BTF | SLEEP),
	D("lsm_cgroup+", BPF_PROG_TYPE_LSM, BPF_LSM_CGROUP, BTF),
	D("iter+", BPF_PROG_TYPE_TRACING, BPF_TRACE_ITER, BTF),
	D("iter.s+", BPF_PROG_TYPE_TRACING, BPF_TRACE_ITER, BTF | SLEEP),
	D("syscall", BPF_PROG_TYPE_SYSCALL, 0, SLEEP),
	D("xdp.frags/devmap", BPF_PROG_TYPE_XDP, BPF_XDP_DEVMAP, FRAGS),
	D("xdp/devmap", BPF_PROG_TYPE_XDP, BPF_XDP_DEVMAP, ATT),
	D("xdp.frags/cpumap", BPF_PROG_TYPE_XDP, BPF_XDP_CPUMAP, FRAGS),
	D("xdp/cpumap", BPF_PROG_TYPE_XDP, BPF_XDP_CPUMAP, ATT),
	D("xdp.frags", BPF_PROG_TYPE_XDP, BPF_XDP, FRAGS),
	D("xdp", BPF_PROG_TYPE_XDP, BPF_XDP, ATT_OPT),
	D("perf_event", BPF_PROG_TYPE_PERF_EVENT, 0, NONE),
	D("lwt_in", BPF_PROG_TYPE_LWT_IN, 0, NONE),
	D("lwt_out", BPF_PROG_TYPE_LWT_OUT, 0, NONE),
	D("lwt_xmit", BPF_PROG_TYPE_LWT_XMIT, 0, NONE),
	D("lwt_seg6local", BPF_PROG_TYPE_LWT_SEG6LOCAL, 0, NONE),
	D("sockops", BPF_PROG_TYPE_SOCK_OPS, BPF_CGROUP_SOCK_OPS, ATT_OPT),
	D("sk_skb/stream_parser", BPF_PROG_TYPE_SK_SKB, BPF_SK_SKB_STREAM_PARSER, ATT_OPT),
	D("sk_skb/stream_verdict", BPF_PROG_TYPE_SK_SKB, BPF_SK_SKB_STREAM_VERDICT, ATT_OPT),
	D("sk_skb/verdict", BPF_PROG_TYPE_SK_SKB, BPF_SK_SKB_VERDICT, ATT_OPT),
	D("sk_skb", BPF_PROG_TYPE_SK_SKB, 0, NONE),
	D("sk_msg", BPF_PROG_TYPE_SK_MSG, BPF_SK_MSG_VERDICT, ATT_OPT),
	D("lirc_mode2", BPF_PROG_TYPE_LIRC_MODE2, BPF_LIRC_MODE2, ATT_OPT),
	D("flow_dissector", BPF_PROG_TYPE_FLOW_DISSECTOR, BPF_FLOW_DISSECTOR, ATT_OPT),
	D("cgroup_skb/ingress", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS, ATT_OPT),
	D("cgroup_skb/egress", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_EGRESS, ATT_OPT),
	D("cgroup/skb", BPF_PROG_TYPE_CGROUP_SKB, 0, NONE),
	D("cgroup/sock_create", BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET_SOCK_CREATE, ATT),
	D("cgroup/sock_release", BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET_SOCK_RELEASE, ATT),
	D("cgroup/sock", BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET_SOCK_CREATE, ATT_OPT),
	D("cgroup/post_bind4", BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET4_POST_BIND, ATT),
	D("cgroup/post_bind6", BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET6_POST_BIND, ATT),
	D("cgroup/bind4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_BIND, ATT),
	D("cgroup/bind6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_BIND, ATT),
	D("cgroup/connect4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT, ATT),
	D("cgroup/connect6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_CONNECT, ATT),
	D("cgroup/connect_unix", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, ATTACH_CGROUP_UNIX_CONNECT, ATT),
	D("cgroup/sendmsg4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP4_SENDMSG, ATT),
	D("cgroup/sendmsg6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP6_SENDMSG, ATT),
	D("cgroup/sendmsg_unix", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, ATTACH_CGROUP_UNIX_SENDMSG, ATT),
	D("cgroup/recvmsg4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP4_RECVMSG, ATT),
	D("cgroup/recvmsg6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP6_RECVMSG, ATT),
	D("cgroup/recvmsg_unix", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, ATTACH_CGROUP_UNIX_RECVMSG, ATT),
	D("cgroup/getpeername4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_GETPEERNAME, ATT),
	D("cgroup/getpeername6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_GETPEERNAME, ATT),
	D("cgroup/getpeername_unix", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, ATTACH_CGROUP_UNIX_GETPEERNAME, ATT),
	D("cgroup/getsockname4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_GETSOCKNAME, ATT),
	D("cgroup/getsockname6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_GETSOCKNAME, ATT),
	D("cgroup/getsockname_unix", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, ATTACH_CGROUP_UNIX_GETSOCKNAME, ATT),
	D("cgroup/sysctl", BPF_PROG_TYPE_CGROUP_SYSCTL, BPF_CGROUP_SYSCTL, ATT),
	D("cgroup/getsockopt", BPF_PROG_TYPE_CGROUP_SOCKOPT, BPF_CGROUP_GETSOCKOPT, ATT),
	D("cgroup/setsockopt", BPF_PROG_TYPE_CGROUP_SOCKOPT, BPF_CGROUP_SETSOCKOPT, ATT),
	D("cgroup/dev", BPF_PROG_TYPE_CGROUP_DEVICE, BPF_CGROUP_DEVICE, ATT_OPT),
	D("struct_ops+", BPF_PROG_TYPE_STRUCT_OPS, 0, NONE),
	D("struct_ops.s+", BPF_PROG_TYPE_STRUCT_OPS, 0, SLEEP),
	D("sk_lookup", BPF_PROG_TYPE_SK_LOOKUP, BPF_SK_LOOKUP, ATT),
	D("netfilter", PROG_TYPE_NETFILTER, ATTACH_NETFILTER, NONE),
};

_Static_assert(BPF_PROG_TYPE_SYSCALL < 256 && BPF_LSM_CGROUP < 256, "the table stores types in a byte");

/* libbpf's rule. Returns the offset of the attach target after "x/" (0 for none), or -1. */
static int match_libbpf(const struct sec_def *d, const char *name)
{
	const char *pattern = d->pattern;
	size_t len = d->len;

	if (name[0] != pattern[0])
		return -1;
	if (pattern[len - 1] == '+') {
		len--;
		if (strncmp(name, pattern, len) != 0)
			return -1;
		if (name[len] == '\0')
			return 0;
		return name[len] == '/' ? (int)len + 1 : -1;
	}
	return strcmp(name, pattern) == 0 ? 0 : -1;
}

int32_t elf_section_type(const char *name, struct tsbpf_elf_sec_type *out)
{
	const char *sec = name;
	uint32_t extra = 0;

	memset(out, 0, sizeof(*out));
	if (sec[0] == '?') {
		sec++;
		out->sec_flags |= TSBPF_SEC_NO_AUTOLOAD;
	}
	for (size_t i = 0; i < ARRAY_SIZE(defs) * 2; i++) {
		const struct sec_def *d = &defs[i % ARRAY_SIZE(defs)];
		int off;

		if (i < ARRAY_SIZE(defs)) {
			off = match_libbpf(d, sec);
			if (off < 0)
				continue;
			out->match = TSBPF_SEC_LIBBPF;
		} else {
			/* cilium/ebpf: a plain pattern matches any name it is a prefix of. */
			size_t len = d->len;

			if (d->pattern[len - 1] == '+' || sec[0] != d->pattern[0] || strncmp(sec, d->pattern, len) != 0)
				continue;
			off = 0;
			out->match = TSBPF_SEC_PREFIX;
		}
		extra = off > 0 ? (uint32_t)(off + (sec - name)) : 0;
		out->prog_type = d->prog_type;
		out->attach_type = d->attach_type;
		out->sec_flags |= d->flags;
		if (d->flags & TSBPF_SEC_SLEEPABLE)
			out->prog_flags |= BPF_F_SLEEPABLE;
		if (d->flags & TSBPF_SEC_XDP_FRAGS)
			out->prog_flags |= BPF_F_XDP_HAS_FRAGS;
		/* struct_ops programs attach to the struct member whose pointer names them, not
		 * to the section's suffix (libbpf ignores it too). */
		if (d->prog_type == BPF_PROG_TYPE_STRUCT_OPS)
			extra = 0;
		out->attach_to_off = extra;
		return (int32_t)out->match;
	}
	return TSBPF_SEC_UNKNOWN;
}

int32_t tsbpf_elf_section_type(const char *name, struct tsbpf_elf_sec_type *out)
{
	tsbpf_begin(-1);
	if (!name || !out)
		return tsbpf_error(-EINVAL, "missing section name");
	return elf_section_type(name, out);
}
