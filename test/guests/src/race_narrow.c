/* race_narrow: race_claim with a race window of a few instructions (a load, a branch, a store)
   and no random delay: hart h starts its claim h * STAGGER loop iterations after the barrier, so
   in plain runs the first hart's window is long closed when the next one checks and the race
   almost never shows; `--chaos` (a hart stalled inside its window) makes it likely. */
#define STAGGER 1000
#define WINDOW 0
#define GUEST_NAME "race_narrow"
#include "race_claim.c"
