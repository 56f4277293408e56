/* isa_htif_fail: like isa_htif, but test 3 fails on purpose, so tohost = (3 << 1) | 1 = 7 and an
   HTIF-aware host should report failure code 3: test 3 compares against a wrong constant. */
#define TEST3_EXPECTED 43
#include "isa_htif.S"
