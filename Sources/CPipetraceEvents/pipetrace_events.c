/* Intentionally empty: CPipetraceEvents only carries bpf/pipetrace.h into Swift. */
