/*
 * td-lifecycle: host code in C that builds, runs and destroys one Trust Domain through
 * `tdxsim serve --stdio`, issuing the SEAMCALLs in the order KVM (Linux 6.16+) issues them:
 *
 *   bring-up   TDH.SYS.INIT, TDH.SYS.LP.INIT on every LP, TDH.SYS.RD (TDCS/TDVPS sizes),
 *              TDH.SYS.CONFIG, TDH.SYS.KEY.CONFIG per package, TDH.SYS.TDMR.INIT to the end
 *   build      TDH.MNG.CREATE, TDH.MNG.KEY.CONFIG per package, TDH.MNG.ADDCX, TDH.MNG.INIT,
 *              TDH.VP.CREATE, TDH.VP.ADDCX, TDH.VP.INIT (version 1), TDH.MEM.SEPT.ADD,
 *              TDH.MEM.PAGE.ADD, TDH.MR.EXTEND, TDH.MR.FINALIZE
 *   run        TDH.VP.ENTER (the guest asks for a page with TDG.VP.VMCALL), TDH.MEM.PAGE.AUG,
 *              TDH.VP.ENTER (the guest accepts and writes the page, then halts)
 *   teardown   TDH.MEM.RANGE.BLOCK, TDH.MEM.TRACK, TDH.MEM.PAGE.REMOVE, TDH.PHYMEM.PAGE.WBINVD
 *              per private page; TDH.MNG.VPFLUSHDONE (refused: VP.FLUSH not done yet),
 *              TDH.VP.FLUSH, TDH.MNG.VPFLUSHDONE, TDH.PHYMEM.CACHE.WB per package,
 *              TDH.MNG.KEY.FREEID, TDH.PHYMEM.PAGE.RECLAIM of every page, TDH.PHYMEM.PAGE.WBINVD
 *              of the TDR under the global KeyID
 *
 * The registers and memory layouts it uses are those of docs/server.md ("A TD's life"). Build
 * and run:
 *
 *   cc -O2 -Wall -o td-lifecycle examples/td-lifecycle.c
 *   ./td-lifecycle                                  # runs `tdxsim serve --stdio`
 *   ./td-lifecycle node dist/cli/main.js serve --stdio
 *
 * Exit status: 0 if every SEAMCALL returned what the sequence expects, 1 otherwise, 2 on a
 * protocol problem. The JSON handling is deliberately tiny (strstr on known keys).
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Leaf numbers (RAX bits 15:0; bits 23:16 are the leaf version). */
enum {
	TDH_VP_ENTER = 0, TDH_MNG_ADDCX = 1, TDH_MEM_PAGE_ADD = 2, TDH_MEM_SEPT_ADD = 3,
	TDH_VP_ADDCX = 4, TDH_MEM_PAGE_AUG = 6, TDH_MEM_RANGE_BLOCK = 7, TDH_MNG_KEY_CONFIG = 8,
	TDH_MNG_CREATE = 9, TDH_VP_CREATE = 10, TDH_MR_EXTEND = 16, TDH_MR_FINALIZE = 17,
	TDH_VP_FLUSH = 18, TDH_MNG_VPFLUSHDONE = 19, TDH_MNG_KEY_FREEID = 20, TDH_MNG_INIT = 21,
	TDH_VP_INIT = 22, TDH_PHYMEM_PAGE_RECLAIM = 28, TDH_MEM_PAGE_REMOVE = 29,
	TDH_SYS_KEY_CONFIG = 31, TDH_SYS_INIT = 33, TDH_SYS_RD = 34, TDH_SYS_LP_INIT = 35,
	TDH_SYS_TDMR_INIT = 36, TDH_MEM_TRACK = 38, TDH_PHYMEM_CACHE_WB = 40,
	TDH_PHYMEM_PAGE_WBINVD = 41, TDH_SYS_CONFIG = 45,
};

#define TDX_SUCCESS 0ULL
#define TDX_FLUSHVP_NOT_DONE 0x8000082400000000ULL
#define EXIT_REASON_TDCALL 77ULL
#define EXIT_REASON_HLT 12ULL
#define TDVMCALL_MAP_GPA 0x10001ULL
#define MD_TDCS_BASE_SIZE 0x9800000100000100ULL
#define MD_TDVPS_BASE_SIZE 0x9800000100000200ULL

/* The ref preset: KeyID bits from PA bit 46; KeyID 32 global, 33 the TD's. */
#define KEYID_SHIFT 46
#define GLOBAL_KEYID 32ULL
#define HKID 33ULL

/* Host memory the "kernel" gives the module (TDMR 0 of CFG-A), and shared pages. */
#define TDR 0x40000000ULL
#define TDVPR 0x40008000ULL
#define SEPT_L3 0x40010000ULL
#define SEPT_L2 0x40011000ULL
#define SEPT_L1 0x40012000ULL
#define IMAGE 0x40014000ULL
#define AUGED 0x40015000ULL
#define TDMR_INFO0 0x10000000ULL
#define TDMR_INFO1 0x10000200ULL
#define TDMR_ARRAY 0x10001000ULL
#define TD_PARAMS 0x10004000ULL
#define SOURCE 0x10005000ULL
#define IMAGE_GPA 0x1000ULL
#define AUG_GPA 0x2000ULL

enum { RAX, RCX, RDX, R8, R9, R10, R11, R12, R13, R14, R15, NREGS };
static const char *const reg_names[NREGS] = { "rax", "rcx", "rdx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15" };

static FILE *to_server, *from_server;
static char line[1 << 16];
static int next_id = 1;
static int failed;

/* Send one request and read its reply line into `line`. */
static void request(const char *method, const char *params)
{
	fprintf(to_server, "{\"id\":%d,\"method\":\"%s\",\"params\":%s}\n", next_id++, method, params);
	fflush(to_server);
	if (!fgets(line, sizeof(line), from_server)) {
		fprintf(stderr, "td-lifecycle: server closed the pipe\n");
		exit(2);
	}
	if (strstr(line, "\"error\"")) {
		fprintf(stderr, "td-lifecycle: %s failed: %s", method, line);
		exit(2);
	}
}

/* The string value of "key":"..." in `line`. */
static int field(const char *key, char *out, size_t n)
{
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	const char *p = strstr(line, pat);
	if (!p)
		return -1;
	p += strlen(pat);
	size_t i = 0;
	while (p[i] && p[i] != '"' && i + 1 < n) {
		out[i] = p[i];
		i++;
	}
	out[i] = 0;
	return 0;
}

/* SEAMCALL on `lp` with the eleven registers in `r`; `r` receives the registers after the call. */
static void seamcall(int lp, uint64_t r[NREGS], char *status_name, size_t n)
{
	char params[1024];
	int len = snprintf(params, sizeof(params), "{\"machine\":\"m1\",\"lp\":%d,\"regs\":{", lp);
	for (int i = 0; i < NREGS; i++)
		len += snprintf(params + len, sizeof(params) - len, "%s\"%s\":\"0x%" PRIx64 "\"", i ? "," : "", reg_names[i], r[i]);
	snprintf(params + len, sizeof(params) - len, "}}");
	request("seamcall", params);
	char v[32];
	for (int i = 0; i < NREGS; i++) {
		if (field(reg_names[i], v, sizeof(v))) {
			fprintf(stderr, "td-lifecycle: no %s in reply: %s", reg_names[i], line);
			exit(2);
		}
		r[i] = strtoull(v, NULL, 16);
	}
	if (field("statusName", status_name, n)) {
		fprintf(stderr, "td-lifecycle: unexpected reply: %s", line);
		exit(2);
	}
}

/* One SEAMCALL expected to return `want`; prints "<name> lp N: <status name>". */
static uint64_t step(const char *name, int lp, uint64_t leaf, uint64_t rcx, uint64_t rdx, uint64_t r8, uint64_t r9, uint64_t want, uint64_t out[NREGS])
{
	uint64_t r[NREGS] = { leaf, rcx, rdx, r8, r9 };
	char sname[96];
	seamcall(lp, r, sname, sizeof(sname));
	printf("%-28s lp %d: %s\n", name, lp, sname);
	if (r[RAX] != want) {
		printf("  expected status 0x%016" PRIx64 ", got 0x%016" PRIx64 "\n", want, r[RAX]);
		failed = 1;
	}
	if (out)
		memcpy(out, r, sizeof(r));
	return r[RAX];
}

/* A loop of SEAMCALLs that must all succeed; prints one summary line. */
static void steps(const char *name, int lp, uint64_t leaf, const uint64_t *rcx, int n, uint64_t rdx)
{
	for (int i = 0; i < n; i++) {
		uint64_t r[NREGS] = { leaf, rcx[i], rdx };
		char sname[96];
		seamcall(lp, r, sname, sizeof(sname));
		if (r[RAX] != TDX_SUCCESS) {
			printf("%-28s lp %d: %s (call %d of %d)\n", name, lp, sname, i + 1, n);
			failed = 1;
			return;
		}
	}
	printf("%-28s lp %d: TDX_SUCCESS x %d\n", name, lp, n);
}

/* mem.write of `n` bytes at `pa` (host store through KeyID 0). */
static void mem_write(uint64_t pa, const uint8_t *data, size_t n)
{
	static char params[2 * 4096 + 128];
	int len = snprintf(params, sizeof(params), "{\"machine\":\"m1\",\"pa\":\"0x%" PRIx64 "\",\"data\":\"", pa);
	for (size_t i = 0; i < n; i++)
		len += snprintf(params + len, sizeof(params) - len, "%02x", data[i]);
	snprintf(params + len, sizeof(params) - len, "\"}");
	request("mem.write", params);
}

static void put64(uint8_t *b, size_t off, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[off + i] = (uint8_t)(v >> (8 * i));
}

/* CFG-A: two TDMR_INFO entries (512 bytes each) and the array of their addresses. */
static void write_cfg_a(void)
{
	static const uint64_t tdmr0[] = { 0x0, 0x80000000, 0x7f804000, 0x1000, 0x7f800000, 0x4000, 0x7f000000, 0x800000,
					  0x0, 0x100000, 0x7f000000, 0x805000 };
	static const uint64_t tdmr1[] = { 0x100000000, 0x100000000, 0x1f1008000, 0x1000, 0x1f1000000, 0x8000, 0x1f0000000, 0x1000000,
					  0xf0000000, 0x1009000 };
	uint8_t b[512];
	memset(b, 0, sizeof(b));
	for (size_t i = 0; i < sizeof(tdmr0) / 8; i++)
		put64(b, 8 * i, tdmr0[i]);
	mem_write(TDMR_INFO0, b, sizeof(b));
	memset(b, 0, sizeof(b));
	for (size_t i = 0; i < sizeof(tdmr1) / 8; i++)
		put64(b, 8 * i, tdmr1[i]);
	mem_write(TDMR_INFO1, b, sizeof(b));
	put64(b, 0, TDMR_INFO0);
	put64(b, 8, TDMR_INFO1);
	mem_write(TDMR_ARRAY, b, 16);
}

/* TDH.SYS.TDMR.INIT on one TDMR until RDX (initialized up to) reaches its end. */
static void tdmr_init(uint64_t base, uint64_t size)
{
	int calls = 0;
	uint64_t r[NREGS];
	char sname[96];
	do {
		memset(r, 0, sizeof(r));
		r[RAX] = TDH_SYS_TDMR_INIT;
		r[RCX] = base;
		seamcall(0, r, sname, sizeof(sname));
		calls++;
	} while (r[RAX] == TDX_SUCCESS && r[RDX] < base + size && calls < 4096);
	printf("%-28s lp 0: %s x %d, TDMR 0x%" PRIx64 " initialized\n", "TDH.SYS.TDMR.INIT", sname, calls, base);
	if (r[RAX] != TDX_SUCCESS || r[RDX] != base + size)
		failed = 1;
}

/* Module bring-up as the host kernel does it; returns TDCS and TDCX page counts. */
static void bring_up(int lps, int *tdcs_pages, int *tdcx_pages)
{
	uint64_t out[NREGS];
	step("TDH.SYS.INIT", 0, TDH_SYS_INIT, 0, 0, 0, 0, TDX_SUCCESS, NULL);
	for (int lp = 0; lp < lps; lp++)
		step("TDH.SYS.LP.INIT", lp, TDH_SYS_LP_INIT, 0, 0, 0, 0, TDX_SUCCESS, NULL);
	step("TDH.SYS.RD TDCS_BASE_SIZE", 0, TDH_SYS_RD, 0, MD_TDCS_BASE_SIZE, 0, 0, TDX_SUCCESS, out);
	*tdcs_pages = (int)(out[R8] / 4096);
	step("TDH.SYS.RD TDVPS_BASE_SIZE", 0, TDH_SYS_RD, 0, MD_TDVPS_BASE_SIZE, 0, 0, TDX_SUCCESS, out);
	*tdcx_pages = (int)(out[R8] / 4096) - 1;
	printf("TD control pages: %d TDCS, 1 TDVPR + %d TDCX\n", *tdcs_pages, *tdcx_pages);
	write_cfg_a();
	step("TDH.SYS.CONFIG", 0, TDH_SYS_CONFIG, TDMR_ARRAY, 2, GLOBAL_KEYID, 0, TDX_SUCCESS, NULL);
	step("TDH.SYS.KEY.CONFIG", 0, TDH_SYS_KEY_CONFIG, 0, 0, 0, 0, TDX_SUCCESS, NULL);
	step("TDH.SYS.KEY.CONFIG", 2, TDH_SYS_KEY_CONFIG, 0, 0, 0, 0, TDX_SUCCESS, NULL);
	tdmr_init(0x0, 0x80000000);
	tdmr_init(0x100000000, 0x100000000);
}

/* KVM_TDX_INIT_VM, KVM_TDX_INIT_VCPU, KVM_TDX_INIT_MEM_REGION, KVM_TDX_FINALIZE_VM. */
static void build_td(const uint64_t *tdcs, int ntdcs, const uint64_t *tdcx, int ntdcx)
{
	step("TDH.MNG.CREATE", 0, TDH_MNG_CREATE, TDR, HKID, 0, 0, TDX_SUCCESS, NULL);
	step("TDH.MNG.KEY.CONFIG", 0, TDH_MNG_KEY_CONFIG, TDR, 0, 0, 0, TDX_SUCCESS, NULL);
	step("TDH.MNG.KEY.CONFIG", 2, TDH_MNG_KEY_CONFIG, TDR, 0, 0, 0, TDX_SUCCESS, NULL);
	steps("TDH.MNG.ADDCX", 0, TDH_MNG_ADDCX, tdcs, ntdcs, TDR);
	/* TD_PARAMS: ATTRIBUTES 0, XFAM 0x3, MAX_VCPUS 4, EPTP_CONTROLS 0x1e, CONFIG_FLAGS 0x4, TSC 100. */
	uint8_t params[1024];
	memset(params, 0, sizeof(params));
	put64(params, 8, 0x3);
	params[16] = 4;
	put64(params, 24, 0x1e);
	put64(params, 32, 0x4);
	params[40] = 100;
	mem_write(TD_PARAMS, params, sizeof(params));
	step("TDH.MNG.INIT", 0, TDH_MNG_INIT, TDR, TD_PARAMS, 0, 0, TDX_SUCCESS, NULL);
	step("TDH.VP.CREATE", 0, TDH_VP_CREATE, TDVPR, TDR, 0, 0, TDX_SUCCESS, NULL);
	steps("TDH.VP.ADDCX", 0, TDH_VP_ADDCX, tdcx, ntdcx, TDVPR);
	step("TDH.VP.INIT", 0, TDH_VP_INIT | (1ULL << 16), TDVPR, IMAGE_GPA, 0, 0, TDX_SUCCESS, NULL);
	step("TDH.MEM.SEPT.ADD L3", 0, TDH_MEM_SEPT_ADD, 0x0 | 3, TDR, SEPT_L3, 0, TDX_SUCCESS, NULL);
	step("TDH.MEM.SEPT.ADD L2", 0, TDH_MEM_SEPT_ADD, 0x0 | 2, TDR, SEPT_L2, 0, TDX_SUCCESS, NULL);
	step("TDH.MEM.SEPT.ADD L1", 0, TDH_MEM_SEPT_ADD, 0x0 | 1, TDR, SEPT_L1, 0, TDX_SUCCESS, NULL);
	/* The guest's program: 32-byte operations {op, a, b, c}. */
	static const uint64_t prog[][4] = {
		{ 3, TDVMCALL_MAP_GPA, AUG_GPA, 0 }, /* TDG.VP.VMCALL<MapGPA>(0x2000) */
		{ 1, AUG_GPA, 0x1000, 0 },           /* TDG.MEM.PAGE.ACCEPT */
		{ 2, AUG_GPA, 0x1000, 0x5a },        /* stores of 0x5a */
		{ 0, 0, 0, 0 },                      /* TDG.VP.VMCALL<HLT> */
	};
	uint8_t image[4096];
	memset(image, 0, sizeof(image));
	for (size_t i = 0; i < sizeof(prog) / sizeof(prog[0]); i++)
		for (int j = 0; j < 4; j++)
			put64(image, 32 * i + 8 * j, prog[i][j]);
	mem_write(SOURCE, image, sizeof(image));
	step("TDH.MEM.PAGE.ADD", 0, TDH_MEM_PAGE_ADD, IMAGE_GPA, TDR, IMAGE, SOURCE, TDX_SUCCESS, NULL);
	uint64_t chunks[16];
	for (int i = 0; i < 16; i++)
		chunks[i] = IMAGE_GPA + 256 * (uint64_t)i;
	steps("TDH.MR.EXTEND", 0, TDH_MR_EXTEND, chunks, 16, TDR);
	step("TDH.MR.FINALIZE", 0, TDH_MR_FINALIZE, TDR, 0, 0, 0, TDX_SUCCESS, NULL);
}

/*
 * TDH.VP.ENTER on LP 0. A TD exit is RAX bits 63:32 = TDX_SUCCESS, bits 31:0 = the VMX exit
 * reason (77: TDCALL, i.e. TDG.VP.VMCALL); R10-R12 carry the guest's VMCALL arguments.
 */
static void enter(uint64_t want_r11, uint64_t want_r12)
{
	uint64_t r[NREGS] = { TDH_VP_ENTER, TDVPR };
	char sname[96];
	seamcall(0, r, sname, sizeof(sname));
	printf("%-28s lp 0: TD exit %" PRIu64 ", r10 0x%" PRIx64 " r11 0x%" PRIx64 " r12 0x%" PRIx64 "\n", "TDH.VP.ENTER", r[RAX], r[R10], r[R11], r[R12]);
	if (r[RAX] != EXIT_REASON_TDCALL || r[R10] != 0 || r[R11] != want_r11 || r[R12] != want_r12)
		failed = 1;
}

/* KVM_RUN: enter, map the page the guest asks for (MapGPA), enter again until it halts. */
static void run_td(void)
{
	enter(TDVMCALL_MAP_GPA, AUG_GPA);
	step("TDH.MEM.PAGE.AUG", 0, TDH_MEM_PAGE_AUG, AUG_GPA, TDR, AUGED, 0, TDX_SUCCESS, NULL);
	enter(EXIT_REASON_HLT, 0);
}

/* Page release while the HKID is assigned, HKID release, then reclaim of every page. */
static void destroy_td(const uint64_t *tdcs, int ntdcs, const uint64_t *tdcx, int ntdcx)
{
	static const uint64_t priv[2][2] = { { IMAGE_GPA, IMAGE }, { AUG_GPA, AUGED } };
	uint64_t out[NREGS];
	for (int i = 0; i < 2; i++) {
		step("TDH.MEM.RANGE.BLOCK", 0, TDH_MEM_RANGE_BLOCK, priv[i][0], TDR, 0, 0, TDX_SUCCESS, NULL);
		step("TDH.MEM.TRACK", 0, TDH_MEM_TRACK, TDR, 0, 0, 0, TDX_SUCCESS, NULL);
		step("TDH.MEM.PAGE.REMOVE", 0, TDH_MEM_PAGE_REMOVE, priv[i][0], TDR, 0, 0, TDX_SUCCESS, out);
		if (out[RCX] != priv[i][1])
			failed = 1;
		step("TDH.PHYMEM.PAGE.WBINVD", 0, TDH_PHYMEM_PAGE_WBINVD, priv[i][1] | (HKID << KEYID_SHIFT), 0, 0, 0, TDX_SUCCESS, NULL);
	}
	step("TDH.MNG.VPFLUSHDONE", 0, TDH_MNG_VPFLUSHDONE, TDR, 0, 0, 0, TDX_FLUSHVP_NOT_DONE, NULL);
	step("TDH.VP.FLUSH", 0, TDH_VP_FLUSH, TDVPR, 0, 0, 0, TDX_SUCCESS, NULL);
	step("TDH.MNG.VPFLUSHDONE", 0, TDH_MNG_VPFLUSHDONE, TDR, 0, 0, 0, TDX_SUCCESS, NULL);
	step("TDH.PHYMEM.CACHE.WB", 0, TDH_PHYMEM_CACHE_WB, 0, 0, 0, 0, TDX_SUCCESS, NULL);
	step("TDH.PHYMEM.CACHE.WB", 2, TDH_PHYMEM_CACHE_WB, 0, 0, 0, 0, TDX_SUCCESS, NULL);
	step("TDH.MNG.KEY.FREEID", 0, TDH_MNG_KEY_FREEID, TDR, 0, 0, 0, TDX_SUCCESS, NULL);
	uint64_t pages[64];
	int n = 0;
	pages[n++] = SEPT_L1;
	pages[n++] = SEPT_L2;
	pages[n++] = SEPT_L3;
	for (int i = 0; i < ntdcx; i++)
		pages[n++] = tdcx[i];
	pages[n++] = TDVPR;
	for (int i = 0; i < ntdcs; i++)
		pages[n++] = tdcs[i];
	pages[n++] = TDR;
	steps("TDH.PHYMEM.PAGE.RECLAIM", 0, TDH_PHYMEM_PAGE_RECLAIM, pages, n, 0);
	step("TDH.PHYMEM.PAGE.WBINVD", 0, TDH_PHYMEM_PAGE_WBINVD, TDR | (GLOBAL_KEYID << KEYID_SHIFT), 0, 0, 0, TDX_SUCCESS, NULL);
}

int main(int argc, char **argv)
{
	int in[2], out[2];
	if (pipe(in) || pipe(out)) {
		perror("pipe");
		return 2;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 2;
	}
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		if (argc > 1)
			execvp(argv[1], argv + 1);
		else
			execlp("tdxsim", "tdxsim", "serve", "--stdio", (char *)NULL);
		perror("exec");
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	to_server = fdopen(in[1], "w");
	from_server = fdopen(out[0], "r");

	request("machine.create", "{\"platform\":\"ref\",\"module\":\"1.5.06\"}");
	const char *lps_at = strstr(line, "\"lps\":");
	int lps = lps_at ? atoi(lps_at + 6) : 0;
	char module[32] = "?";
	field("module", module, sizeof(module));
	printf("machine m1: %d LPs, module %s\n", lps, module);

	int ntdcs = 0, ntdcx = 0;
	bring_up(lps, &ntdcs, &ntdcx);
	if (ntdcs < 1 || ntdcs > 7 || ntdcx < 1 || ntdcx > 7) { /* they must fit below the TDVPR and the SEPT pages */
		fprintf(stderr, "td-lifecycle: unexpected TD control sizes\n");
		return 2;
	}
	/* TDCS pages right after the TDR, TDCX pages right after the TDVPR. */
	uint64_t tdcs[16], tdcx[16];
	for (int i = 0; i < ntdcs; i++)
		tdcs[i] = TDR + 0x1000ULL * (uint64_t)(i + 1);
	for (int i = 0; i < ntdcx; i++)
		tdcx[i] = TDVPR + 0x1000ULL * (uint64_t)(i + 1);
	build_td(tdcs, ntdcs, tdcx, ntdcx);
	run_td();
	destroy_td(tdcs, ntdcs, tdcx, ntdcx);

	request("machine.state", "{\"machine\":\"m1\"}");
	int gone = strstr(line, "\"tds\":[]") != NULL;
	printf("%s\n", gone ? "TD destroyed: the module holds no TD" : "TD still present");
	failed |= !gone;

	fclose(to_server);
	fclose(from_server);
	int st = 0;
	waitpid(pid, &st, 0);
	return failed ? 1 : 0;
}
