/* race_narrow: race_claim with a race window of a few instructions (a load, a branch, a store)
   and a wide random delay, so that plain runs almost never fail; `--chaos` makes it likely. */
#define DELAY_RANGE 200000
#define WINDOW 0
#define GUEST_NAME "race_narrow"
#include "race_claim.c"
