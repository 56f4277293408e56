/* The shared M-mode trap recorder (common/trap_rec.c): point mtvec at trap_rec. */
#ifndef TRAP_REC_H
#define TRAP_REC_H
#include <stdint.h>
extern char trap_rec[];
extern volatile uint64_t trap_info[6];
#define T_CAUSE trap_info[0]
#define T_TVAL  trap_info[1]
#define T_EPC   trap_info[2]
#define T_COUNT trap_info[3]
#endif
