/* SPIN anchor (copied from the shared anchors, anchors/spin/stop_cpus.pml): the model src/bench/explore.ts runs side by side with tdxsim. */
/* native_stop_other_cpus + stop_this_cpu (Linux 6.18 kexec path), N CPUs.
   CPU 0 is the stopping (kexec-ing) CPU. Every CPU has made SEAMCALLs, so its
   cache_state_incoherent flag is set and its cache may hold dirty private lines.
   Timeouts and interrupt arrival are nondeterministic.
   Property (RACE=1): no remote CPU executes old-kernel code after the new kernel starts.
   Property (always): no dirty private line survives into the new kernel. */
#ifndef N
#define N 3
#endif
#ifndef RACE
#define RACE 1
#endif

bit mask[N];            /* cpus_stop_mask */
bit ipi[N];             /* pending REBOOT IPI */
bit nmi[N];             /* pending stop NMI */
bit flag[N];            /* cache_state_incoherent */
bit dirty[N];           /* cache holds dirty private lines */
bit halted[N];
bool new_kernel = false;

inline wbinvd(c) { dirty[c] = 0 }

inline stop_this_cpu(c) {
  if :: flag[c] -> wbinvd(c) :: else -> skip fi;
  assert(!RACE || !new_kernel);     /* still running old-kernel code */
  mask[c] = 0;
  halted[c] = 1
}

proctype Remote(byte c) {
  /* runs until an IPI or NMI is taken; it may dirty its cache meanwhile */
  do
  :: !halted[c] && !new_kernel -> dirty[c] = 1            /* a SEAMCALL or TD write */
  :: !halted[c] && ipi[c] -> ipi[c] = 0; stop_this_cpu(c)
  :: nmi[c] -> nmi[c] = 0; halted[c] = 0; stop_this_cpu(c)
  :: halted[c] && !nmi[c] -> break
  od
}

proctype Stopper() {
  byte c;
  c = 1; do :: c < N -> mask[c] = 1; c++ :: else -> break od;
  c = 1; do :: c < N -> ipi[c] = 1; c++ :: else -> break od;
  /* wait up to 1 s: either all stopped, or the timeout fires at any moment */
  c = 1;
  do
  :: c < N && mask[c] == 0 -> c++
  :: c < N -> break          /* timeout */
  :: c >= N -> break
  od;
  c = 1;
  do
  :: c < N -> if :: mask[c] -> nmi[c] = 1 :: else -> skip fi; c++
  :: else -> break
  od;
  /* wait (forever, wait=1) until the mask is empty */
  c = 1; do :: c < N -> (mask[c] == 0); c++ :: else -> break od;
  if :: flag[0] -> wbinvd(0) :: else -> skip fi;   /* relocate_kernel */
  new_kernel = true;
  /* silent corruption: a dirty private line left in any cache */
  c = 0; do :: c < N -> assert(!dirty[c]); c++ :: else -> break od
}

init {
  byte c = 0;
  atomic {
    do :: c < N -> flag[c] = 1; dirty[c] = 1; c++ :: else -> break od;
    run Stopper();
    c = 1; do :: c < N -> run Remote(c); c++ :: else -> break od
  }
}
