/*
 * seamcall-client: host code in C talking to the tdxsim TDX module model over `tdxsim serve
 * --stdio` (JSON lines on a pipe). It does what a host kernel does first:
 *
 *   TDH.SYS.INIT on LP 0, TDH.SYS.LP.INIT on every LP, TDH.SYS.RD of MAX_TDMRS,
 *
 * and prints each status code. Build and run:
 *
 *   cc -O2 -Wall -o seamcall-client examples/seamcall-client.c
 *   ./seamcall-client                                  # runs `tdxsim serve --stdio`
 *   ./seamcall-client node dist/cli/main.js serve --stdio
 *
 * Exit status: 0 if every call returned TDX_SUCCESS, 1 otherwise, 2 on a protocol problem.
 * The JSON handling is deliberately tiny (strstr on known keys); see docs/server.md.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define TDH_SYS_INIT 33
#define TDH_SYS_RD 34
#define TDH_SYS_LP_INIT 35
#define MAX_TDMRS_FIELD 0x9100000100000008ULL

static FILE *to_server, *from_server;
static char line[1 << 16];
static int next_id = 1;

/* Send one request and read its reply line into `line`. */
static int request(const char *method, const char *params)
{
	int id = next_id++;
	fprintf(to_server, "{\"id\":%d,\"method\":\"%s\",\"params\":%s}\n", id, method, params);
	fflush(to_server);
	if (!fgets(line, sizeof(line), from_server)) {
		fprintf(stderr, "seamcall-client: server closed the pipe\n");
		exit(2);
	}
	if (strstr(line, "\"error\"")) {
		fprintf(stderr, "seamcall-client: %s failed: %s", method, line);
		exit(2);
	}
	return id;
}

/* The string value of "key":"..." in `line` (copied into out). */
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

/* SEAMCALL `leaf` on `lp` with RDX = rdx; prints and returns the status. */
static uint64_t seamcall(const char *name, int lp, uint64_t leaf, uint64_t rdx, uint64_t *r8)
{
	char params[512], status[32], sname[96], r8s[32];
	snprintf(params, sizeof(params),
		 "{\"machine\":\"m1\",\"lp\":%d,\"regs\":{\"rax\":\"0x%" PRIx64 "\",\"rdx\":\"0x%" PRIx64 "\"}}",
		 lp, leaf, rdx);
	request("seamcall", params);
	if (field("status", status, sizeof(status)) || field("statusName", sname, sizeof(sname))) {
		fprintf(stderr, "seamcall-client: unexpected reply: %s", line);
		exit(2);
	}
	if (r8 && field("r8", r8s, sizeof(r8s)) == 0)
		*r8 = strtoull(r8s, NULL, 16);
	printf("%-16s lp %d: status %s %s\n", name, lp, status, sname);
	return strtoull(status, NULL, 16);
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
		if (argc > 1) {
			execvp(argv[1], argv + 1);
			fprintf(stderr, "seamcall-client: cannot run %s: ", argv[1]);
		} else {
			execlp("tdxsim", "tdxsim", "serve", "--stdio", (char *)NULL);
			fprintf(stderr, "seamcall-client: cannot run tdxsim (is it on PATH? npm link in the clone, or pass the command: ./seamcall-client node dist/cli/main.js serve --stdio): ");
		}
		perror(NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	to_server = fdopen(in[1], "w");
	from_server = fdopen(out[0], "r");

	request("machine.create", "{\"platform\":\"ref\",\"module\":\"1.5.01\"}");
	const char *lps_at = strstr(line, "\"lps\":");
	int lps = lps_at ? atoi(lps_at + 6) : 0;
	printf("machine m1: %d LPs\n", lps);

	int failed = 0;
	failed |= seamcall("TDH.SYS.INIT", 0, TDH_SYS_INIT, 0, NULL) != 0;
	for (int lp = 0; lp < lps; lp++)
		failed |= seamcall("TDH.SYS.LP.INIT", lp, TDH_SYS_LP_INIT, 0, NULL) != 0;
	uint64_t max_tdmrs = 0;
	failed |= seamcall("TDH.SYS.RD", 0, TDH_SYS_RD, MAX_TDMRS_FIELD, &max_tdmrs) != 0;
	printf("MAX_TDMRS = %" PRIu64 "\n", max_tdmrs);

	fclose(to_server);
	fclose(from_server);
	int st = 0;
	waitpid(pid, &st, 0);
	return failed ? 1 : 0;
}
