/* The BPF side's event structs, imported into Swift. */
#include "../../../bpf/pipetrace.h"
