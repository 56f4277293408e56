/* mmu_sv48: the mmu_sv39 checks with a 4-level Sv48 table, plus a walk through VPN[3] != 0 and a
   non-canonical address (bit 47 set, bits 63:48 clear). */
#define LEVELS 4
#define NAME "mmu_sv48"
#define SATP_MODE 9UL
#include "mmu_sv39.c"
